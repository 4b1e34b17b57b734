from megatron.calls import LOG


# patchmerge: scale_fast moved to megatron.core.ops.scale_fast
from megatron.core.ops import scale_fast
