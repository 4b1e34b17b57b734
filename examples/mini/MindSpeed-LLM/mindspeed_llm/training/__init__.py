from mindspeed_llm.training.training import get_model_wrapper

__all__ = ["get_model_wrapper"]
