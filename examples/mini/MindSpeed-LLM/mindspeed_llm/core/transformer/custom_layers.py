"""Norms: PTNorm stands in for Transformer Engine's norm; fast_norm_forward is the fused RMS norm kernel."""

import math

from megatron.core.calllog import record
from megatron.core.transformer.module import MegatronModule


class PTNorm(MegatronModule):
    """Layer norm (mean removed, then scaled to unit variance)."""

    def __init__(self, config, hidden_size, eps=1e-5):
        super().__init__(config)
        self.hidden_size = hidden_size
        self.eps = eps

    def forward(self, hidden_states):
        record("mindspeed_llm:PTNorm.forward")
        out = []
        for row in hidden_states:
            mean = sum(row) / len(row)
            std = math.sqrt(sum((x - mean) ** 2 for x in row) / len(row) + self.eps)
            out.append([(x - mean) / std for x in row])
        return out


def fast_norm_forward(self, hidden_states):
    """WrappedTorchNorm.forward on the fused kernel: RMS norm, output in bf16."""
    record("mindspeed_llm:fast_norm_forward")
    out = []
    for row in hidden_states:
        rms = math.sqrt(sum(x * x for x in row) / len(row) + self.eps)
        out.append([round(x / rms, 2) for x in row])
    return out
