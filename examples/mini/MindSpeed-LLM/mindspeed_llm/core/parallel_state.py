from functools import wraps

from megatron.core.calllog import record


def destroy_model_parallel_decorator(destroy_model_parallel):
    @wraps(destroy_model_parallel)
    def wrapper():
        destroy_model_parallel()
        record("mindspeed_llm:destroy_model_parallel_decorator")

    return wrapper
