from functools import wraps

from megatron.core.calllog import record


def transformer_config_post_init_mtp_wrapper(fn):
    """Adds the multi-token-prediction fields (none here) and widens the init."""

    @wraps(fn)
    def wrapper(self):
        fn(self)
        record("mindspeed_llm:transformer_config_post_init_mtp_wrapper")
        self.mtp_num_layers = 0
        self.init_method_std = self.init_method_std + 0.01

    return wrapper
