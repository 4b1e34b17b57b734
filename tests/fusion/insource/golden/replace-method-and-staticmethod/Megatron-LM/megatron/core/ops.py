"""Ops."""

from megatron.calls import LOG
import megatron._patchmerge as _patchmerge

# patchmerge: the flags of this module's probes, each true until its definition first runs
_patchmerge_pending_0c3102a4c5 = _patchmerge.probe_flag(globals(), 'pending_0c3102a4c5')
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
    def forward(self, x):
        if _patchmerge_pending_896503ccb9:
            _patchmerge.first_run(__name__, 'megatron.core.ops.Layer.forward#0')
        from mindspeed.util import twice
        LOG.append("mindspeed.forward")
        return twice(x) * self.n

    # patchmerge: megatron.core.ops.Layer.size replaced by mindspeed.layer.size (MindSpeed-LLM/mindspeed_llm/adaptor.py:11)
    @staticmethod
    def size(x):
        if _patchmerge_pending_0c3102a4c5:
            _patchmerge.first_run(__name__, 'megatron.core.ops.Layer.size#0')
        return len(x) + 1


def caller(x):
    return scale(x) + Layer(2).forward(x)
