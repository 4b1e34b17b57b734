"""The norm used when Transformer Engine is absent."""

import math

from megatron.core.calllog import record
from megatron.core.transformer.module import MegatronModule


class WrappedTorchNorm(MegatronModule):
    """RMS norm over each hidden vector."""

    def __init__(self, config, hidden_size, eps=1e-5):
        super().__init__(config)
        self.hidden_size = hidden_size
        self.eps = eps

    def forward(self, hidden_states):
        record("megatron:WrappedTorchNorm.forward")
        out = []
        for row in hidden_states:
            rms = math.sqrt(sum(x * x for x in row) / len(row) + self.eps)
            out.append([x / rms for x in row])
        return out
