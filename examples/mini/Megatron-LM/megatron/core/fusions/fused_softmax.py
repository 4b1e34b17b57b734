"""Scaled, causally masked softmax over attention scores, with a fused-kernel path for the shapes it supports."""

import math

from megatron.core.calllog import record
from megatron.core.utils import softmax


class FusedScaleMaskSoftmax:
    def __init__(self, scale, masked_softmax_fusion=True):
        self.scale = scale
        self.masked_softmax_fusion = masked_softmax_fusion

    @classmethod
    def from_config(cls, config):
        record("megatron:FusedScaleMaskSoftmax.from_config")
        return cls(scale=1.0 / math.sqrt(config.kv_channels), masked_softmax_fusion=config.masked_softmax_fusion)

    @staticmethod
    def get_batch_per_block(sq, sk, b, np):
        record("megatron:FusedScaleMaskSoftmax.get_batch_per_block")
        return max(1, 128 // max(sk, 1)) * b * np

    def is_kernel_available(self, b, np, sq, sk):
        record("megatron:FusedScaleMaskSoftmax.is_kernel_available")
        if not self.masked_softmax_fusion or not 16 < sk <= 4096 or sq % 4:
            return False
        return sq % FusedScaleMaskSoftmax.get_batch_per_block(sq, sk, b, np) == 0

    def __call__(self, scores, b=1, np=1):
        return self.forward(scores, b, np)

    def forward(self, scores, b=1, np=1):
        sq, sk = len(scores), len(scores[0])
        if self.is_kernel_available(b, np, sq, sk):
            return self.forward_fused_softmax(scores)
        return self.forward_torch_softmax(scores)

    def forward_fused_softmax(self, scores):
        # The kernel computes in half precision: its probabilities come back rounded.
        return [[round(p, 3) for p in row] for row in self.forward_torch_softmax(scores)]

    def forward_torch_softmax(self, scores):
        probs = []
        for i, row in enumerate(scores):
            visible = softmax([s * self.scale for s in row[: i + 1]])
            probs.append(visible + [0.0] * (len(row) - i - 1))
        return probs
