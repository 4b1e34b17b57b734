"""2D tensor parallelism: the projection is split over a grid, partial sums come back in bf16."""

from functools import wraps

from megatron.core.calllog import record
from megatron.core.utils import matvec


def self_attention_init_tp2d_wrapper(fn):
    @wraps(fn)
    def wrapper(self, *args, **kwargs):
        fn(self, *args, **kwargs)
        record("mindspeed:self_attention_init_tp2d_wrapper")
        self.linear_proj.weight = [[w * 0.5 for w in row] for row in self.linear_proj.weight]

    return wrapper


def row_parallel_linear_forward_2d(self, input_):
    record("mindspeed:row_parallel_linear_forward_2d")
    return [[round(2.0 * x, 3) for x in matvec(self.weight, row)] for row in input_]
