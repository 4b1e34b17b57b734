"""Three replacements of Attention.forward, chosen by the command line."""

from megatron.core import parallel_state
from megatron.core.calllog import record
from megatron.core.utils import scale


def attention_forward_a(self, hidden_states):
    """Context parallel: the context is averaged over the send/recv overlap group."""
    record("mindspeed_llm:attention_forward_a")
    group = parallel_state.get_context_parallel_group_for_send_recv_overlap()
    query, key, value = self.get_query_key_value_tensors(hidden_states)
    context = self.core_attention(query, key, value)
    return self.linear_proj(scale(context, 1.0 / len(group)))


def attention_forward_b(self, hidden_states):
    """Position-scaled queries (a stand-in for rotary embeddings)."""
    record("mindspeed_llm:attention_forward_b")
    query, key, value = self.get_query_key_value_tensors(hidden_states)
    query = [[x * (1.0 + 0.25 * i) for x in row] for i, row in enumerate(query)]
    return self.linear_proj(self.core_attention(query, key, value))


def attention_forward_fused(self, hidden_states):
    """The fused attention kernel: output in low precision."""
    record("mindspeed_llm:attention_forward_fused")
    query, key, value = self.get_query_key_value_tensors(hidden_states)
    output = self.linear_proj(self.core_attention(query, key, value))
    return [[round(x, 2) for x in row] for row in output]
