from functools import wraps

from megatron.calls import LOG


# patchmerge: scale_wrapper moved to megatron.core.ops.scale_wrapper
from megatron.core.ops import scale_wrapper


# patchmerge: forward_decorator moved to megatron.core.ops.forward_decorator
from megatron.core.ops import forward_decorator
