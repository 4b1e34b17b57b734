"""Ops."""

from megatron.calls import LOG
import megatron._patchmerge as _patchmerge
from functools import wraps

# patchmerge: the flags of this module's probes, each true until its definition first runs
_patchmerge_pending_5ce2549b62 = _patchmerge.probe_flag(globals(), 'pending_5ce2549b62')
_patchmerge_pending_fe536836c4 = _patchmerge.probe_flag(globals(), 'pending_fe536836c4')

LIMIT = 4


# patchmerge: mindspeed_llm.wrappers.scale_wrapper, moved here to wrap scale
def scale_wrapper(fn):
    @wraps(fn)
    def wrapper(x):
        LOG.append("llm.scale_wrapper")
        return fn(x) + 1

    return wrapper


# patchmerge: megatron.core.ops.scale wrapped by mindspeed_llm.wrappers.scale_wrapper (MindSpeed-LLM/mindspeed_llm/adaptor.py:9)
def scale(x):
    """Megatron's scale."""
    if _patchmerge_pending_fe536836c4:
        _patchmerge.first_run(__name__, 'megatron.core.ops.scale#original', 'megatron.core.ops.scale#0')
    LOG.append("megatron.scale")
    return x * 2
scale = scale_wrapper(scale)


# patchmerge: mindspeed_llm.wrappers.forward_decorator, moved here to wrap Layer.forward
def forward_decorator(fn):
    def inner(self, x):
        LOG.append("llm.forward_decorator")
        return fn(self, x) - 1

    return inner


class Layer:
    def __init__(self, n):
        self.n = n

    # Megatron's forward
    # patchmerge: megatron.core.ops.Layer.forward wrapped by mindspeed_llm.wrappers.forward_decorator (MindSpeed-LLM/mindspeed_llm/adaptor.py:11)
    def forward(self, x):
        if _patchmerge_pending_5ce2549b62:
            _patchmerge.first_run(__name__, 'megatron.core.ops.Layer.forward#original', 'megatron.core.ops.Layer.forward#0')
        LOG.append("megatron.forward")
        return x * self.n
    forward = forward_decorator(forward)

    @staticmethod
    def size(x):
        return len(x)


def caller(x):
    return scale(x) + Layer(2).forward(x)
