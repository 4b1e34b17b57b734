"""SwiGLU activation; the real module wraps a fused autograd function."""

from megatron.core.calllog import record
from megatron.core.utils import silu


class SwiGLUFunction:
    """y = silu(a) * b for an input [a | b]."""

    @staticmethod
    def apply(vector):
        record("megatron:SwiGLUFunction.apply")
        half = len(vector) // 2
        return [silu(a) * b for a, b in zip(vector[:half], vector[half:], strict=False)]


def bias_swiglu_impl(vector):
    return SwiGLUFunction.apply(vector)
