"""Ops."""

from megatron.calls import LOG
import megatron._patchmerge as _patchmerge
from typing import TYPE_CHECKING
if TYPE_CHECKING:  # what annotations written as strings name
    import mindspeed.layer

# patchmerge: the flags of this module's probes, each true until its definition first runs
_patchmerge_pending_896503ccb9 = _patchmerge.probe_flag(globals(), 'pending_896503ccb9')

LIMIT = 4


def scale(x):
    """Megatron's scale."""
    LOG.append("megatron.scale")
    return x * 2


class Layer:
    def __init__(self, n):
        self.n = n

    # patchmerge: megatron.core.ops.Layer.forward replaced by mindspeed.layer.forward (MindSpeed-LLM/mindspeed_llm/adaptor.py:9)
    def forward(self, x, graph: 'mindspeed.layer.Graph' = None) -> int:
        if _patchmerge_pending_896503ccb9:
            _patchmerge.first_run(__name__, 'megatron.core.ops.Layer.forward#0')
        LOG.append("mindspeed.forward")
        return x * self.n

    @staticmethod
    def size(x):
        return len(x)


def caller(x):
    return scale(x) + Layer(2).forward(x)
