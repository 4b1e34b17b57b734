"""The transformer configuration: a dataclass whose __post_init__ fills derived fields and validates."""

from dataclasses import dataclass

from megatron.core.calllog import record


@dataclass
class TransformerConfig:
    num_layers: int = 2
    hidden_size: int = 8
    num_attention_heads: int = 2
    ffn_hidden_size: int | None = None
    kv_channels: int | None = None
    init_method_std: float = 0.1
    layernorm_epsilon: float = 1e-5
    masked_softmax_fusion: bool = True
    num_moe_experts: int | None = None

    def __post_init__(self):
        record("megatron:TransformerConfig.__post_init__")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) must be a divisor of "
                f"hidden_size ({self.hidden_size})"
            )
        if self.ffn_hidden_size is None:
            self.ffn_hidden_size = 4 * self.hidden_size
        if self.kv_channels is None:
            self.kv_channels = self.hidden_size // self.num_attention_heads
