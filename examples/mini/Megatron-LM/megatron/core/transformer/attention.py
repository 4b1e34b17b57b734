"""Attention: project to query/key/value, run core attention, project back."""

from megatron.core.calllog import record
from megatron.core.tensor_parallel.layers import ColumnParallelLinear, RowParallelLinear
from megatron.core.transformer.dot_product_attention import DotProductAttention
from megatron.core.transformer.module import MegatronModule


class Attention(MegatronModule):
    def __init__(self, config, layer_number):
        super().__init__(config)
        self.layer_number = layer_number
        self.core_attention = DotProductAttention(config, layer_number)
        projection_size = config.kv_channels * config.num_attention_heads
        self.linear_proj = RowParallelLinear(
            projection_size, config.hidden_size, config=config, salt=layer_number * 10 + 2
        )

    def get_query_key_value_tensors(self, hidden_states):
        raise NotImplementedError

    def forward(self, hidden_states):
        record("megatron:Attention.forward")
        query, key, value = self.get_query_key_value_tensors(hidden_states)
        context = self.core_attention(query, key, value)
        return self.linear_proj(context)


class SelfAttention(Attention):
    def __init__(self, config, layer_number):
        super().__init__(config, layer_number)
        record("megatron:SelfAttention.__init__")
        self.projection_size = config.kv_channels * config.num_attention_heads
        self.linear_qkv = ColumnParallelLinear(
            config.hidden_size, 3 * self.projection_size, config=config, salt=layer_number * 10 + 1
        )

    def get_query_key_value_tensors(self, hidden_states):
        mixed = self.linear_qkv(hidden_states)
        p = self.projection_size
        return [row[:p] for row in mixed], [row[p : 2 * p] for row in mixed], [row[2 * p :] for row in mixed]
