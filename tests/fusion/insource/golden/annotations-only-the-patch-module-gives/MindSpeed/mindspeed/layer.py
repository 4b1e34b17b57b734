from megatron.calls import LOG
from megatron.core.ops import Layer


class Graph:
    """MindSpeed's graph of a layer."""


# patchmerge: forward moved to megatron.core.ops.Layer.forward
forward = Layer.forward
