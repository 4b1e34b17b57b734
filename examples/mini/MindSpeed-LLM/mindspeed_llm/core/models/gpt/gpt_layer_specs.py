from functools import wraps

from megatron.core.calllog import record


def get_gpt_layer_local_spec_wrapper(fn):
    """The local spec with MindSpeed-LLM's norm."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        from mindspeed_llm.core.transformer.custom_layers import PTNorm

        spec = fn(*args, **kwargs)
        record("mindspeed_llm:get_gpt_layer_local_spec_wrapper")
        spec["norm"] = PTNorm
        return spec

    return wrapper
