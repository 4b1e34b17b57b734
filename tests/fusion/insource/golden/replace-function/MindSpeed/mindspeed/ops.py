import math

from megatron.calls import LOG

FACTOR = 3


def _clip(x):
    return min(x, 10)


# patchmerge: scale_fast moved to megatron.core.ops.scale
from megatron.core.ops import scale as scale_fast
