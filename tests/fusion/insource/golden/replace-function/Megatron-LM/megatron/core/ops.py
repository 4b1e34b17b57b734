"""Ops."""

from megatron.calls import LOG
import math
import megatron._patchmerge as _patchmerge

# patchmerge: the flags of this module's probes, each true until its definition first runs
_patchmerge_pending_0f07905461 = _patchmerge.probe_flag(globals(), 'pending_0f07905461')

LIMIT = 4


# patchmerge: megatron.core.ops.scale replaced by mindspeed.ops.scale_fast (MindSpeed-LLM/mindspeed_llm/adaptor.py:9)
# MindSpeed's scale: rounds up
def scale(x):
    """MindSpeed's scale."""
    if _patchmerge_pending_0f07905461:
        _patchmerge.first_run(__name__, 'megatron.core.ops.scale#0')
    import mindspeed.ops
    from mindspeed.ops import _clip
    LOG.append("mindspeed.scale")
    return _clip(math.ceil(x * mindspeed.ops.FACTOR))


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


def caller(x):
    return scale(x) + Layer(2).forward(x)
