# patchmerge: scale_wrapper moved to megatron.core.ops.scale_wrapper
from megatron.core.ops import scale_wrapper
