from functools import wraps

from megatron.core.calllog import record
from megatron.core.utils import scale


def gated_mlp_forward_wrapper(fn):
    """Wraps the forward GatedMLP inherits from MLP: the gated output is damped."""

    @wraps(fn)
    def wrapper(self, hidden_states):
        output = fn(self, hidden_states)
        record("mindspeed_llm:gated_mlp_forward_wrapper")
        return scale(output, 0.8)

    return wrapper
