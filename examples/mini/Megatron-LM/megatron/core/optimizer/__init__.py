"""The optimizer of the mini tree.

There are no gradients here: a step shrinks every weight by a factor that depends on the loss, which is enough to
make the loss move from one iteration to the next, deterministically.
"""

from megatron.core.calllog import record
from megatron.core.optimizer.optimizer_config import OptimizerConfig


class MegatronOptimizer:
    def __init__(self, config, model_chunks):
        self.config = config
        self.params = [weight for chunk in model_chunks for weight in chunk.parameters()]

    def step(self, loss):
        factor = 1.0 - self.config.lr * (min(loss, self.config.clip_grad) + self.config.weight_decay)
        for weight in self.params:
            for row in weight:
                row[:] = [w * factor for w in row]
        return factor


def get_megatron_optimizer(config, model_chunks):
    record("megatron:get_megatron_optimizer")
    return MegatronOptimizer(config, model_chunks)


__all__ = ["MegatronOptimizer", "OptimizerConfig", "get_megatron_optimizer"]
