from megatron.calls import LOG
from megatron.core.ops import MegatronLayer


# patchmerge: Layer2D moved to megatron.core.ops.Layer2D
from megatron.core.ops import Layer2D


# patchmerge: Layer moved to megatron.core.ops._layers_Layer
from megatron.core.ops import _layers_Layer as Layer
