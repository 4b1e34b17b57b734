from functools import wraps

from megatron.core.calllog import record


def get_model_wrapper(fn):
    """The output layer starts smaller than Megatron's."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        model = fn(*args, **kwargs)
        record("mindspeed_llm:get_model_wrapper")
        for chunk in model:
            output_layer = getattr(chunk, "module", chunk).output_layer
            output_layer.weight = [[w * 0.75 for w in row] for row in output_layer.weight]
        return model

    return wrapper
