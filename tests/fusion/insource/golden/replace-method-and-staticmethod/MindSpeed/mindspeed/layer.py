from megatron.calls import LOG
from mindspeed.util import twice


# patchmerge: forward moved to megatron.core.ops.Layer.forward
from megatron.core.ops import Layer
forward = Layer.forward


# patchmerge: size moved to megatron.core.ops.Layer.size
size = Layer.size
