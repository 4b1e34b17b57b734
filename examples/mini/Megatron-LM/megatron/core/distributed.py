"""Data-parallel wrapper (one rank: it only forwards)."""

from megatron.core.transformer.module import MegatronModule


class DistributedDataParallel(MegatronModule):
    def __init__(self, module):
        super().__init__(getattr(module, "config", None))
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)
