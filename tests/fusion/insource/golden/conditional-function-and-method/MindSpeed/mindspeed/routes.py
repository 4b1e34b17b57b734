from megatron.calls import LOG


# patchmerge: scale_tp2d moved to megatron.core.ops.scale_tp2d
from megatron.core.ops import scale_tp2d


# patchmerge: forward moved to megatron.core.ops.forward
from megatron.core.ops import forward


# patchmerge: scale_wrapper moved to megatron.core.ops.scale_wrapper
from megatron.core.ops import scale_wrapper
