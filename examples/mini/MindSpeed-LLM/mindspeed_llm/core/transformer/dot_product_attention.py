"""Flash attention: no softmax module, scores soft-capped before the softmax."""

import math

from megatron.core.calllog import record
from megatron.core.transformer.module import MegatronModule
from megatron.core.utils import dot, softmax


class DotProductAttention(MegatronModule):
    def __init__(self, config, layer_number):
        super().__init__(config)
        record("mindspeed_llm:DotProductAttention.__init__")
        self.layer_number = layer_number
        self.num_heads = config.num_attention_heads
        self.head_dim = config.kv_channels
        self.softmax_scale = 1.0 / math.sqrt(self.head_dim)
        self.softcap = 1.5

    def forward(self, query, key, value):
        record("mindspeed_llm:DotProductAttention.forward")
        context = [[] for _ in query]
        for head in range(self.num_heads):
            part = slice(head * self.head_dim, (head + 1) * self.head_dim)
            for i, q in enumerate(query):
                scores = [
                    self.softcap * math.tanh(dot(q[part], k[part]) * self.softmax_scale / self.softcap)
                    for k in key[: i + 1]
                ]
                probs = softmax(scores)
                context[i].extend(
                    sum(p * v[part][j] for p, v in zip(probs, value, strict=False)) for j in range(self.head_dim)
                )
        return context
