"""Ops."""

from megatron.calls import LOG
import megatron._patchmerge as _patchmerge

# patchmerge: the flags of this module's probes, each true until its definition first runs
_patchmerge_pending_d3564a0fd9 = _patchmerge.probe_flag(globals(), 'pending_d3564a0fd9')
_patchmerge_pending_fe536836c4 = _patchmerge.probe_flag(globals(), 'pending_fe536836c4')

LIMIT = 4


# patchmerge: mindspeed_llm.wrappers.scale_wrapper, moved here to wrap scale
def scale_wrapper(fn):
    def wrapper(x):
        return fn(x) + 1

    return wrapper


# patchmerge: megatron.core.ops.scale wrapped by mindspeed_llm.wrappers.scale_wrapper (MindSpeed-LLM/mindspeed_llm/adaptor.py:11)
def scale(x):
    """Megatron's scale."""
    if _patchmerge_pending_d3564a0fd9:
        _patchmerge.first_run(__name__, 'megatron.core.ops.caller#0')
    if _patchmerge_pending_fe536836c4:
        _patchmerge.first_run(__name__, 'megatron.core.ops.scale#original', 'megatron.core.ops.scale#0')
    LOG.append("megatron.scale")
    return x * 2


# patchmerge: megatron.core.ops.caller replaced by megatron.core.ops.scale (MindSpeed-LLM/mindspeed_llm/adaptor.py:9): Megatron's def, as registered
caller = scale
scale = scale_wrapper(scale)


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
