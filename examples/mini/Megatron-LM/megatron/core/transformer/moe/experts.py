"""Experts of a mixture-of-experts layer: token s goes to expert s % num_experts."""

from megatron.core.calllog import record
from megatron.core.tensor_parallel.layers import ColumnParallelLinear, RowParallelLinear
from megatron.core.transformer.module import MegatronModule
from megatron.core.transformer.moe import grouped_gemm_util as gg
from megatron.core.utils import gelu, matvec


class GroupedMLP(MegatronModule):
    def __init__(self, config, layer_number):
        super().__init__(config)
        self.num_local_experts = config.num_moe_experts
        self.experts_fc1 = [
            ColumnParallelLinear(config.hidden_size, config.ffn_hidden_size, config=config, salt=layer_number * 10 + e)
            for e in range(self.num_local_experts)
        ]
        self.experts_fc2 = [
            RowParallelLinear(config.ffn_hidden_size, config.hidden_size, config=config, salt=layer_number * 10 + 5 + e)
            for e in range(self.num_local_experts)
        ]

    def forward(self, hidden_states):
        record("megatron:GroupedMLP.forward")
        experts = self.num_local_experts
        order = sorted(range(len(hidden_states)), key=lambda s: s % experts)
        tokens = [hidden_states[s] for s in order]
        tokens_per_expert = [sum(1 for s in order if s % experts == e) for e in range(experts)]
        if gg.ops is not None:
            fc1 = gg.ops.gmm(tokens, [m.weight for m in self.experts_fc1], tokens_per_expert, trans_b=False)
            fc2 = gg.ops.gmm([gelu(row) for row in fc1], [m.weight for m in self.experts_fc2], tokens_per_expert)
        else:
            fc2 = []
            for s, token in zip(order, tokens, strict=False):
                e = s % experts
                fc2.append(matvec(self.experts_fc2[e].weight, gelu(matvec(self.experts_fc1[e].weight, token))))
        output = [None] * len(hidden_states)
        for s, row in zip(order, fc2, strict=False):
            output[s] = row
        return output
