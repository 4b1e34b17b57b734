"""TransformerBlock.forward with a per-layer output scale, and the method it needs (which Megatron lacks)."""

from megatron.core import parallel_state
from megatron.core.calllog import record
from megatron.core.utils import scale


def get_layer_scale(self, index, cp_size=1):
    record("mindspeed_llm:get_layer_scale")
    return 1.0 - 0.05 * (index + 1) * cp_size / self.config.num_layers


def transformer_block_forward(self, hidden_states):
    record("mindspeed_llm:transformer_block_forward")
    cp_size = len(parallel_state.get_context_parallel_group_for_send_recv_overlap())
    for index, layer in enumerate(self.layers):
        hidden_states = scale(layer(hidden_states), self.get_layer_scale(index, cp_size))
    return self.final_layernorm(hidden_states)
