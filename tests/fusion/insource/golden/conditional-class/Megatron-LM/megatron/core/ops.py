"""Ops."""

from megatron.calls import LOG
import megatron._patchmerge as _patchmerge

LIMIT = 4


def scale(x):
    """Megatron's scale."""
    LOG.append("megatron.scale")
    return x * 2


# patchmerge: mindspeed.layers.Layer, moved here as a branch of Layer
class Layer:
    """MindSpeed's layer, of Megatron's name."""

    def __init__(self, n):
        self.n = -n


_layers_Layer = Layer  # mindspeed.layers.Layer itself


class Layer:
    def __init__(self, n):
        self.n = n

    # Megatron's forward
    def forward(self, x):
        LOG.append("megatron.forward")
        return x * self.n

    @staticmethod
    def size(x):
        return len(x)


MegatronLayer = Layer


# patchmerge: mindspeed.layers.Layer2D, moved here as a branch of Layer
class Layer2D(MegatronLayer):
    """2-D tensor parallel layer."""

    def forward(self, x):
        LOG.append("mindspeed.Layer2D.forward")
        return super().forward(x) * 2


# patchmerge: megatron.core.ops.Layer replaced by mindspeed.layers.Layer2D if args.tp_2d (MindSpeed-LLM/mindspeed_llm/adaptor.py:9)
# patchmerge: megatron.core.ops.Layer replaced by mindspeed.layers.Layer if args.negative (MindSpeed-LLM/mindspeed_llm/adaptor.py:11)
if _patchmerge.adaptation_args().negative:
    Layer = _layers_Layer
    _patchmerge.first_run(__name__, 'megatron.core.ops.Layer#1')
elif _patchmerge.adaptation_args().tp_2d:
    Layer = Layer2D
    _patchmerge.first_run(__name__, 'megatron.core.ops.Layer#0')


def caller(x):
    return scale(x) + Layer(2).forward(x)
