from functools import wraps

from megatron.core.calllog import record
from megatron.core.utils import add, scale


def parallel_transformer_forward(self, hidden_states):
    """Residual branches scaled by 1/sqrt(2 * layers)."""
    record("mindspeed_llm:parallel_transformer_forward")
    branch_scale = (2 * len(self.attentions)) ** -0.5
    layers = zip(self.input_norms, self.attentions, self.post_attention_norms, self.mlps, strict=True)
    for norm, attention, post_norm, mlp in layers:
        hidden_states = add(hidden_states, scale(attention(norm(hidden_states)), branch_scale))
        hidden_states = add(hidden_states, scale(mlp(post_norm(hidden_states)), branch_scale))
    return self.final_norm(hidden_states)


def state_dict_for_save_checkpoint_wrapper(fn):
    """Wraps the method ParallelTransformer inherits from MegatronModule: records the layer count."""

    @wraps(fn)
    def wrapper(self, prefix=""):
        state = fn(self, prefix=prefix)
        record("mindspeed_llm:state_dict_for_save_checkpoint_wrapper")
        state[prefix + "num_layers"] = float(len(self.attentions))
        return state

    return wrapper
