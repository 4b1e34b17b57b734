import math
from functools import wraps

from megatron.core.calllog import record
from megatron.training.utils import unwrap_model


def unwrap_model_wrapper(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        record("mindspeed_llm:unwrap_model_wrapper")
        return fn(*args, **kwargs)

    return wrapper


def calc_params_l2_norm(model):
    """The norm summed per weight in fp32 chunks (each chunk's square rounded)."""
    record("mindspeed_llm:calc_params_l2_norm")
    total = 0.0
    for chunk in unwrap_model(model):
        for weight in chunk.parameters():
            total += round(sum(w * w for row in weight for w in row), 4)
    return math.sqrt(total)
