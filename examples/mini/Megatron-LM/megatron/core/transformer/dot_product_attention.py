"""Core attention: per head, softmax(q k^T * scale) v under a causal mask."""

from megatron.core.calllog import record
from megatron.core.fusions.fused_softmax import FusedScaleMaskSoftmax
from megatron.core.transformer.module import MegatronModule
from megatron.core.utils import dot


class DotProductAttention(MegatronModule):
    def __init__(self, config, layer_number):
        super().__init__(config)
        self.layer_number = layer_number
        self.num_heads = config.num_attention_heads
        self.head_dim = config.kv_channels
        self.scale_mask_softmax = FusedScaleMaskSoftmax.from_config(config)

    def forward(self, query, key, value):
        record("megatron:DotProductAttention.forward")
        context = [[] for _ in query]
        for head in range(self.num_heads):
            part = slice(head * self.head_dim, (head + 1) * self.head_dim)
            scores = [[dot(q[part], k[part]) for k in key] for q in query]
            probs = self.scale_mask_softmax(scores, b=1, np=self.num_heads)
            for i, row in enumerate(probs):
                context[i].extend(
                    sum(p * v[part][j] for p, v in zip(row, value, strict=False)) for j in range(self.head_dim)
                )
        return context
