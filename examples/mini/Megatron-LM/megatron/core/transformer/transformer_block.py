"""A stack of transformer layers and the final norm."""

from megatron.core.calllog import record
from megatron.core.transformer.module import MegatronModule
from megatron.core.transformer.torch_norm import WrappedTorchNorm
from megatron.core.utils import add

try:
    from transformer_engine.pytorch import RMSNorm as TENorm

    HAVE_TE = True
except ImportError:
    HAVE_TE = False
    TENorm = WrappedTorchNorm


class TransformerLayer(MegatronModule):
    """x + attention(norm(x)), then + mlp(norm(.)). The spec names the classes (a dict in the mini tree)."""

    def __init__(self, config, spec, layer_number):
        super().__init__(config)
        self.layer_number = layer_number
        self.input_layernorm = spec["norm"](config, config.hidden_size, eps=config.layernorm_epsilon)
        self.self_attention = spec["attention"](config, layer_number)
        self.pre_mlp_layernorm = spec["norm"](config, config.hidden_size, eps=config.layernorm_epsilon)
        self.mlp = spec["mlp"](config, layer_number)

    def forward(self, hidden_states):
        hidden_states = add(hidden_states, self.self_attention(self.input_layernorm(hidden_states)))
        return add(hidden_states, self.mlp(self.pre_mlp_layernorm(hidden_states)))


class TransformerBlock(MegatronModule):
    def __init__(self, config, spec):
        super().__init__(config)
        self.layers = [TransformerLayer(config, spec, i + 1) for i in range(config.num_layers)]
        self.final_layernorm = TENorm(config, config.hidden_size, eps=config.layernorm_epsilon)

    def forward(self, hidden_states):
        record("megatron:TransformerBlock.forward")
        for layer in self.layers:
            hidden_states = layer(hidden_states)
        return self.final_layernorm(hidden_states)
