"""Ops."""

from megatron.calls import LOG
import megatron._patchmerge as _patchmerge

# patchmerge: the flags of this module's probes, each true until its definition first runs
_patchmerge_pending_4b3bf427c5 = _patchmerge.probe_flag(globals(), 'pending_4b3bf427c5')
_patchmerge_pending_a29dc2c0c3 = _patchmerge.probe_flag(globals(), 'pending_a29dc2c0c3')

LIMIT = 4


def scale(x):
    """Megatron's scale."""
    LOG.append("megatron.scale")
    return x * 2


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

    # patchmerge: megatron.core.ops.Layer.describe replaced by mindspeed.extra.describe (MindSpeed-LLM/mindspeed_llm/adaptor.py:11)
    def describe(self):
        if _patchmerge_pending_a29dc2c0c3:
            _patchmerge.first_run(__name__, 'megatron.core.ops.Layer.describe#0')
        return f"layer of {self.n}"


def caller(x):
    return scale(x) + Layer(2).forward(x)


# patchmerge: megatron.core.ops.limit replaced by mindspeed.extra.limit (MindSpeed-LLM/mindspeed_llm/adaptor.py:9)
def limit():
    if _patchmerge_pending_4b3bf427c5:
        _patchmerge.first_run(__name__, 'megatron.core.ops.limit#0')
    return LIMIT
