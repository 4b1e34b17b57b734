from mindspeed_llm.core.parallel_state import destroy_model_parallel_decorator
from mindspeed_llm.core.transformer.custom_layers import PTNorm

__all__ = ["PTNorm", "destroy_model_parallel_decorator"]
