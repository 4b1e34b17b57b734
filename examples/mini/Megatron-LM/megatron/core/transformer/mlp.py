"""Feed-forward blocks. GatedMLP only changes the construction: its forward is MLP's."""

from megatron.core.calllog import record
from megatron.core.fusions.fused_bias_swiglu import bias_swiglu_impl
from megatron.core.tensor_parallel.layers import ColumnParallelLinear, RowParallelLinear
from megatron.core.transformer.module import MegatronModule
from megatron.core.utils import gelu


class MLP(MegatronModule):
    def __init__(self, config, layer_number):
        super().__init__(config)
        self.linear_fc1 = ColumnParallelLinear(
            config.hidden_size, config.ffn_hidden_size, config=config, salt=layer_number * 10 + 3
        )
        self.activation_func = gelu
        self.linear_fc2 = RowParallelLinear(
            config.ffn_hidden_size, config.hidden_size, config=config, salt=layer_number * 10 + 4
        )

    def forward(self, hidden_states):
        record(f"megatron:{type(self).__name__}.forward")
        intermediate = [self.activation_func(row) for row in self.linear_fc1(hidden_states)]
        return self.linear_fc2(intermediate)


class GatedMLP(MLP):
    def __init__(self, config, layer_number):
        super().__init__(config, layer_number)
        self.linear_fc1 = ColumnParallelLinear(
            config.hidden_size, 2 * config.ffn_hidden_size, config=config, salt=layer_number * 10 + 3
        )
        self.activation_func = bias_swiglu_impl
