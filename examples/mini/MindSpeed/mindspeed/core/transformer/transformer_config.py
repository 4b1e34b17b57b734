"""MindSpeed's view of the transformer configuration."""

from functools import wraps

from megatron.core.calllog import record


def transformer_config_post_init(self):
    """Replaces Megatron's __post_init__ for 2D TP and unaligned linears: heads need not divide the hidden size."""
    record("mindspeed:transformer_config_post_init")
    if self.ffn_hidden_size is None:
        self.ffn_hidden_size = 2 * self.hidden_size
    if self.kv_channels is None:
        self.kv_channels = -(-self.hidden_size // self.num_attention_heads)


def transformer_config_post_init_wrapper(fn):
    @wraps(fn)
    def wrapper(self):
        fn(self)
        record("mindspeed:transformer_config_post_init_wrapper")
        self.init_method_std = self.init_method_std * 2

    return wrapper
