from functools import wraps

from megatron.core.calllog import record


def optimizer_config_init_wrapper(fn):
    """Wraps the __init__ that @dataclass generates for OptimizerConfig: a default weight decay."""

    @wraps(fn)
    def wrapper(self, *args, **kwargs):
        fn(self, *args, **kwargs)
        record("mindspeed_llm:optimizer_config_init_wrapper")
        if self.weight_decay == 0.0:
            self.weight_decay = 0.02

    return wrapper
