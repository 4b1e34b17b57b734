from mindspeed_llm.legacy.model.gpt_model import GPTModel
from mindspeed_llm.legacy.model.transformer import parallel_transformer_forward, state_dict_for_save_checkpoint_wrapper

__all__ = ["GPTModel", "parallel_transformer_forward", "state_dict_for_save_checkpoint_wrapper"]
