"""SwiGLU on the NPU: one fused kernel, output in bf16 (rounded)."""

import math

from megatron.core.calllog import record


class SwiGLUFunction:
    @staticmethod
    def apply(vector):
        record("mindspeed:SwiGLUFunction.apply")
        half = len(vector) // 2
        return [round(a / (1.0 + math.exp(-a)) * b, 3) for a, b in zip(vector[:half], vector[half:], strict=False)]
