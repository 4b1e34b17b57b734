"""Linear layers (one rank, so column and row parallel only differ by name and by who patches them)."""

from megatron.core.transformer.module import MegatronModule
from megatron.core.utils import init_weight, matvec


class ColumnParallelLinear(MegatronModule):
    def __init__(self, input_size, output_size, *, config, salt=0):
        super().__init__(config)
        self.weight = init_weight(output_size, input_size, config.init_method_std, salt)

    def forward(self, input_):
        return [matvec(self.weight, row) for row in input_]


class RowParallelLinear(MegatronModule):
    def __init__(self, input_size, output_size, *, config, salt=0):
        super().__init__(config)
        self.weight = init_weight(output_size, input_size, config.init_method_std, salt)

    def forward(self, input_):
        return [matvec(self.weight, row) for row in input_]
