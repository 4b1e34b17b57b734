"""The NPU softmax kernel handles every shape the mini model has, with its own block size and scale."""

import math

from megatron.core.calllog import record


def is_kernel_available(self, b, np, sq, sk):
    record("mindspeed:is_kernel_available")
    return self.masked_softmax_fusion and sk <= 4096 and sq % type(self).get_batch_per_block(sq, sk, b, np) == 0


def get_batch_per_block(sq, sk, b, np):
    record("mindspeed:get_batch_per_block")
    return max(1, sq // 2) * b


@classmethod
def from_config(cls, config):
    """A classmethod object at module level: set on the class, it binds like the original."""
    record("mindspeed:from_config")
    return cls(scale=0.9 / math.sqrt(config.kv_channels), masked_softmax_fusion=config.masked_softmax_fusion)
