"""A small MindSpeed-LLM written for this suite (bodies of our own), with re-exports through
``mindspeed_llm/core/__init__.py`` as MindSpeed-LLM has them. The adaptor is in ``adaptor_src.py``."""

MINDSPEED_LLM_FILES = {
    "MindSpeed-LLM/mindspeed_llm/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/core/__init__.py": '''
        from .parallel_state import destroy_model_parallel_decorator
        from .tensor_parallel.random import checkpoint_forward_wrapper
        from .transformer.custom_layers import PTNorm
        from .transformer.transformer_block import get_num_layers_to_build_wrapper

        __all__ = [
            "PTNorm",
            "checkpoint_forward_wrapper",
            "destroy_model_parallel_decorator",
            "get_num_layers_to_build_wrapper",
        ]
    ''',
    "MindSpeed-LLM/mindspeed_llm/core/parallel_state.py": '''
        from functools import wraps


        def destroy_model_parallel_decorator(destroy_model_parallel):
            @wraps(destroy_model_parallel)
            def wrapper():
                destroy_model_parallel()
                from megatron.core import parallel_state

                parallel_state._EXTRA_GROUPS_DESTROYED = True

            return wrapper
    ''',
    "MindSpeed-LLM/mindspeed_llm/core/tensor_parallel/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/core/tensor_parallel/random.py": '''
        from functools import wraps


        def checkpoint_forward_wrapper(fn):
            @wraps(fn)
            def wrapper(ctx, run_function, distribute_saved_activations, *args):
                ctx.llm_recompute = True
                return fn(ctx, run_function, distribute_saved_activations, *args)

            return wrapper
    ''',
    "MindSpeed-LLM/mindspeed_llm/core/transformer/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/core/transformer/custom_layers.py": '''
        import torch


        class PTNorm:
            """Picks a plain torch norm where Megatron wanted Transformer Engine's."""

            def __new__(cls, config, hidden_size, eps=1e-5):
                if config.normalization == "RMSNorm":
                    return torch.nn.RMSNorm(hidden_size, eps=eps)
                return torch.nn.LayerNorm(hidden_size, eps=eps)
    ''',
    "MindSpeed-LLM/mindspeed_llm/core/transformer/transformer_config.py": '''
        from functools import wraps


        def transformer_config_post_init_mtp_wrapper(fn):
            @wraps(fn)
            def wrapper(self):
                num_layers = self.num_layers
                self.num_layers = num_layers + getattr(self, "num_nextn_predict_layers", 0)
                fn(self)
                self.num_layers = num_layers

            return wrapper
    ''',
    "MindSpeed-LLM/mindspeed_llm/core/transformer/transformer_block.py": '''
        from functools import wraps

        from megatron.core import tensor_parallel


        def get_num_layers_to_build_wrapper(fn):
            @wraps(fn)
            def wrapper(config):
                return fn(config) + getattr(config, "num_layer_list_extra", 0)

            return wrapper


        def share_kvstates_checkpointed_forward_func(self, hidden_states, attention_mask, *args, **kwargs):
            def custom(start, end):
                def forward(*inputs):
                    for index in range(start, end):
                        inputs = self._get_layer(index)(*inputs)
                    return inputs

                return forward

            return tensor_parallel.checkpoint(custom(0, self.num_layers_per_pipeline_rank), False, hidden_states,
                                              attention_mask)


        def get_layer_scale(self, layer_number):
            return 1.0 / (layer_number + 1) if self.config.apply_layer_scale else 1.0
    ''',
    "MindSpeed-LLM/mindspeed_llm/core/models/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/core/models/gpt/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/core/models/gpt/gpt_model.py": '''
        from megatron.core.models.gpt.gpt_model import GPTModel as MegatronCoreGPTModel


        class GPTModel(MegatronCoreGPTModel):
            """Adds an output scale on top of Megatron's GPT model."""

            def __init__(self, config, *args, **kwargs):
                super().__init__(config, *args, **kwargs)
                self.output_multiplier = getattr(config, "output_multiplier_scale", None)

            def forward(self, *args, **kwargs):
                output = super().forward(*args, **kwargs)
                return output if self.output_multiplier is None else output * self.output_multiplier
    ''',
    "MindSpeed-LLM/mindspeed_llm/core/models/gpt/gpt_layer_specs.py": '''
        from functools import wraps


        def get_gpt_layer_local_spec_wrapper(fn):
            @wraps(fn)
            def wrapper(*args, **kwargs):
                spec = fn(*args, **kwargs)
                spec.params["llm_local_spec"] = True
                return spec

            return wrapper
    ''',
    "MindSpeed-LLM/mindspeed_llm/tasks/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/tasks/posttrain/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/tasks/posttrain/lora/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/tasks/posttrain/lora/utils.py": '''
        def is_enable_qlora(args=None):
            return bool(getattr(args, "qlora", False))
    ''',
    "MindSpeed-LLM/mindspeed_llm/tasks/posttrain/lora/qlora.py": '''
        from functools import wraps


        def parallel_linear_init_wrapper(fn):
            @wraps(fn)
            def wrapper(self, *args, **kwargs):
                fn(self, *args, **kwargs)
                self.quantized = True

            return wrapper


        def parallel_linear_save_to_state_dict_wrapper(fn):
            @wraps(fn)
            def wrapper(self, destination, prefix, keep_vars):
                fn(self, destination, prefix, keep_vars)
                destination[prefix + "quant_state"] = getattr(self, "quant_state", None)

            return wrapper


        def parallel_linear_load_from_state_dict_wrapper(fn):
            @wraps(fn)
            def wrapper(self, state_dict, prefix, *args, **kwargs):
                self.quant_state = state_dict.pop(prefix + "quant_state", None)
                return fn(self, state_dict, prefix, *args, **kwargs)

            return wrapper


        def grouped_gemm_util_ops_gmm(a, b, batch_sizes, trans_b=False, gemm_fusion=False, original_weight=None):
            import torch

            weights = b.dequantize() if hasattr(b, "dequantize") else b
            weights = weights.transpose(-1, -2) if trans_b else weights
            return torch.cat([chunk @ w for chunk, w in zip(torch.split(a, batch_sizes.tolist()), weights)])
    ''',
}
