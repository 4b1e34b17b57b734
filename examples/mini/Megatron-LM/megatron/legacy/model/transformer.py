"""The legacy transformer: layers kept as parallel lists, norms and attention shared with core."""

from megatron.core.calllog import record
from megatron.core.tensor_parallel.layers import ColumnParallelLinear, RowParallelLinear
from megatron.core.transformer.attention import SelfAttention
from megatron.core.transformer.module import MegatronModule
from megatron.core.transformer.torch_norm import WrappedTorchNorm
from megatron.core.utils import add, gelu


class ParallelMLP(MegatronModule):
    def __init__(self, config, layer_number):
        super().__init__(config)
        self.dense_h_to_4h = ColumnParallelLinear(
            config.hidden_size, config.ffn_hidden_size, config=config, salt=layer_number * 10 + 3
        )
        self.dense_4h_to_h = RowParallelLinear(
            config.ffn_hidden_size, config.hidden_size, config=config, salt=layer_number * 10 + 4
        )

    def forward(self, hidden_states):
        record("megatron:ParallelMLP.forward")
        return self.dense_4h_to_h([gelu(row) for row in self.dense_h_to_4h(hidden_states)])


class ParallelTransformer(MegatronModule):
    """No state_dict_for_save_checkpoint here: it is MegatronModule's."""

    def __init__(self, config):
        super().__init__(config)
        numbers = range(1, config.num_layers + 1)
        self.input_norms = [WrappedTorchNorm(config, config.hidden_size, config.layernorm_epsilon) for _ in numbers]
        self.attentions = [SelfAttention(config, n) for n in numbers]
        self.post_attention_norms = [
            WrappedTorchNorm(config, config.hidden_size, config.layernorm_epsilon) for _ in numbers
        ]
        self.mlps = [ParallelMLP(config, n) for n in numbers]
        self.final_norm = WrappedTorchNorm(config, config.hidden_size, config.layernorm_epsilon)

    def forward(self, hidden_states):
        record("megatron:ParallelTransformer.forward")
        for norm, attention, post_norm, mlp in zip(
            self.input_norms, self.attentions, self.post_attention_norms, self.mlps, strict=False
        ):
            hidden_states = add(hidden_states, attention(norm(hidden_states)))
            hidden_states = add(hidden_states, mlp(post_norm(hidden_states)))
        return self.final_norm(hidden_states)
