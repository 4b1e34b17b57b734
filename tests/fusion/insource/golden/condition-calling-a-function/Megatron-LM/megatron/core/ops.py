"""Ops."""

from megatron.calls import LOG
import megatron._patchmerge as _patchmerge

# patchmerge: the flags of this module's probes, each true until its definition first runs
_patchmerge_pending_chosen_0f07905461 = _patchmerge.probe_flag(globals(), 'pending_chosen_0f07905461')
_patchmerge_pending_fe536836c4 = _patchmerge.probe_flag(globals(), 'pending_fe536836c4')

LIMIT = 4


# patchmerge: mindspeed_llm.fast.scale_fast, moved here as a branch of scale
def scale_fast(x):
    if _patchmerge_pending_chosen_0f07905461:
        _patchmerge.first_run(__name__, 'megatron.core.ops.scale#0')
    LOG.append("llm.scale_fast")
    return x * 8


# patchmerge: megatron.core.ops.scale replaced by mindspeed_llm.fast.scale_fast if is_enable_fast(args) (MindSpeed-LLM/mindspeed_llm/adaptor.py:9)
if _patchmerge.adaptation_args().tp_2d or _patchmerge.argv_4196e2a1fb().fast_nf4:
    scale = scale_fast
    _patchmerge.select('megatron.core.ops.scale#0')
else:
    def scale(x):
        """Megatron's scale."""
        if _patchmerge_pending_fe536836c4:
            _patchmerge.first_run(__name__, 'megatron.core.ops.scale#original')
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


def caller(x):
    return scale(x) + Layer(2).forward(x)
