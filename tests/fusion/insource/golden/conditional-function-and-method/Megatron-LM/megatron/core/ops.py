"""Ops."""

from megatron.calls import LOG
import megatron._patchmerge as _patchmerge

# patchmerge: the flags of this module's probes, each true until its definition first runs
_patchmerge_pending_5ce2549b62 = _patchmerge.probe_flag(globals(), 'pending_5ce2549b62')
_patchmerge_pending_chosen_0f07905461 = _patchmerge.probe_flag(globals(), 'pending_chosen_0f07905461')
_patchmerge_pending_chosen_896503ccb9 = _patchmerge.probe_flag(globals(), 'pending_chosen_896503ccb9')
_patchmerge_pending_fe536836c4 = _patchmerge.probe_flag(globals(), 'pending_fe536836c4')

LIMIT = 4


# patchmerge: mindspeed.routes.scale_tp2d, moved here as a branch of scale
def scale_tp2d(x):
    """2-D tensor parallel scale."""
    if _patchmerge_pending_chosen_0f07905461:
        _patchmerge.first_run(__name__, 'megatron.core.ops.scale#0')
    LOG.append("mindspeed.scale_tp2d")
    return x * 4


# patchmerge: mindspeed.routes.scale_wrapper, moved here to wrap scale
def scale_wrapper(fn):
    def wrapper(x):
        return fn(x) + 1

    return wrapper


# patchmerge: megatron.core.ops.scale replaced by mindspeed.routes.scale_tp2d if args.tp_2d (MindSpeed-LLM/mindspeed_llm/adaptor.py:9)
# patchmerge: megatron.core.ops.scale wrapped by mindspeed.routes.scale_wrapper if args.dispatcher == 'alltoall' (MindSpeed-LLM/mindspeed_llm/adaptor.py:11)
if _patchmerge.adaptation_args().tp_2d:
    scale = scale_tp2d
    _patchmerge.select('megatron.core.ops.scale#0')
else:
    def scale(x):
        """Megatron's scale."""
        if _patchmerge_pending_fe536836c4:
            _patchmerge.first_run(__name__, 'megatron.core.ops.scale#original')
        LOG.append("megatron.scale")
        return x * 2
if _patchmerge.adaptation_args().dispatcher == 'alltoall':
    scale = scale_wrapper(scale)
    _patchmerge.first_run(__name__, 'megatron.core.ops.scale#1')


# patchmerge: mindspeed.routes.forward, moved here as a branch of Layer.forward
def forward(self, x):
    if _patchmerge_pending_chosen_896503ccb9:
        _patchmerge.first_run(__name__, 'megatron.core.ops.Layer.forward#0')
    LOG.append("mindspeed.forward")
    return x + self.n


class Layer:
    def __init__(self, n):
        self.n = n

    # Megatron's forward
    # patchmerge: megatron.core.ops.Layer.forward replaced by mindspeed.routes.forward if args.tp_2d and args.dispatcher != 'alltoall' (MindSpeed-LLM/mindspeed_llm/adaptor.py:13)
    if _patchmerge.adaptation_args().tp_2d and _patchmerge.adaptation_args().dispatcher != 'alltoall':
        forward = forward
        _patchmerge.select('megatron.core.ops.Layer.forward#0')
    else:
        def forward(self, x):
            if _patchmerge_pending_5ce2549b62:
                _patchmerge.first_run(__name__, 'megatron.core.ops.Layer.forward#original')
            LOG.append("megatron.forward")
            return x * self.n

    @staticmethod
    def size(x):
        return len(x)


def caller(x):
    return scale(x) + Layer(2).forward(x)
