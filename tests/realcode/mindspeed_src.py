"""A small MindSpeed written for this suite: the patch shapes MindSpeed uses, with bodies of our own.

Replacement functions take the original's parameters (``self`` first for methods), wrappers are
``*_wrapper(fn)`` decorators returning ``@wraps(fn) def wrapper(*args, **kwargs)``, patch classes inherit the
Megatron original under an alias. Nothing here is imported by the tests: it is source for patchmerge to read.
"""

MINDSPEED_FILES = {
    "MindSpeed/mindspeed/__init__.py": "",
    "MindSpeed/mindspeed/core/__init__.py": "",
    "MindSpeed/mindspeed/core/transformer/__init__.py": "",
    "MindSpeed/mindspeed/core/transformer/attention.py": '''
        from functools import wraps

        from megatron.core.transformer.module import MegatronModule


        def attention_init(self, config, submodules, layer_number, attn_mask_type, attention_type, cp_comm_type=None):
            MegatronModule.__init__(self, config=config)
            self.config = config
            self.layer_number = max(1, layer_number)
            self.attn_mask_type = attn_mask_type
            self.attention_type = attention_type
            self.hidden_size_per_attention_head = config.kv_channels


        def attention_init_wrapper(fn):
            @wraps(fn)
            def wrapper(self, *args, **kwargs):
                fn(self, *args, **kwargs)
                self.unaligned_heads = True

            return wrapper


        def self_attention_init_wrapper(fn):
            @wraps(fn)
            def wrapper(*args, **kwargs):
                fn(*args, **kwargs)
                args[0].fused_qkv = False

            return wrapper
    ''',
    "MindSpeed/mindspeed/core/transformer/transformer_config.py": '''
        from functools import wraps


        def transformer_config_post_init(self):
            if self.num_attention_heads % 2:
                raise ValueError("an even number of attention heads is needed here")
            if self.kv_channels is None:
                self.kv_channels = self.hidden_size // self.num_attention_heads


        def transformer_config_post_init_wrapper(fn):
            @wraps(fn)
            def wrapper(self):
                saved = self.bias_activation_fusion
                self.bias_activation_fusion = False
                fn(self)
                self.bias_activation_fusion = saved

            return wrapper
    ''',
    "MindSpeed/mindspeed/core/transformer/transformer_block.py": '''
        from functools import wraps


        def transformer_block_checkpointed_forward_wrapper(fn):
            @wraps(fn)
            def wrapper(self, *args, **kwargs):
                if self.config.recompute_method == "block" and self.config.recompute_num_layers == 0:
                    return self._forward_without_recompute(*args, **kwargs)
                return fn(self, *args, **kwargs)

            return wrapper
    ''',
    "MindSpeed/mindspeed/core/transformer/moe/__init__.py": "",
    "MindSpeed/mindspeed/core/transformer/moe/grouped_gemm_util.py": '''
        import torch


        def grouped_gemm_is_available():
            return hasattr(torch, "npu")


        def assert_grouped_gemm_is_available():
            assert grouped_gemm_is_available(), "the NPU grouped matmul is not available"


        class Ops:
            @staticmethod
            def gmm(a, b, batch_sizes, trans_b=False, gemm_fusion=False, original_weight=None):
                weights = b.transpose(-1, -2) if trans_b else b
                outputs = [chunk @ w for chunk, w in zip(torch.split(a, batch_sizes.tolist()), weights)]
                return torch.cat(outputs)
    ''',
    "MindSpeed/mindspeed/core/transformer/moe/experts.py": '''
        import torch


        def group_mlp_forward(self, permuted_local_hidden_states, tokens_per_expert, ctx=None):
            hidden = self.activation_func(permuted_local_hidden_states @ self.weight1)
            return hidden @ self.weight2, None


        def groupedmlp_forward(self, permuted_local_hidden_states, tokens_per_expert):
            if permuted_local_hidden_states.nelement() == 0:
                return torch.zeros_like(permuted_local_hidden_states), None
            return group_mlp_forward(self, permuted_local_hidden_states, tokens_per_expert)
    ''',
    "MindSpeed/mindspeed/core/transformer/moe/token_dispatcher.py": '''
        import torch


        def preprocess(self, indices):
            counts = torch.bincount(indices.view(-1), minlength=self.num_experts)
            self.num_out_tokens = int(counts.sum())
            return counts


        def preprocess_tp_extend_ep(self, indices):
            counts = preprocess(self, indices)
            self.tp_extended = True
            return counts
    ''',
    "MindSpeed/mindspeed/core/fusions/__init__.py": "",
    "MindSpeed/mindspeed/core/fusions/fused_layer_norm.py": '''
        import torch


        class FastLayerNormFN(torch.autograd.Function):
            @staticmethod
            def forward(ctx, inp, weight, bias, eps):
                return torch.nn.functional.layer_norm(inp, inp.shape[-1:], weight, bias, eps)

            @staticmethod
            def backward(ctx, grad_output):
                raise NotImplementedError("the NPU layer norm is differentiated by the framework")
    ''',
    "MindSpeed/mindspeed/core/fusions/fused_softmax.py": '''
        import torch


        def is_kernel_available(self, mask, b, np, sq, sk):
            return self.scaled_masked_softmax_fusion and 16 <= sk <= 4096 and sq % 16 == 0


        def get_batch_per_block(sq, sk, b, np):
            return max(1, sq // 16)


        class ScaledSoftmax(torch.autograd.Function):
            @staticmethod
            def forward(ctx, inputs, scale):
                probs = torch.softmax(inputs * scale, dim=-1)
                ctx.save_for_backward(probs)
                ctx.scale = scale
                return probs

            @staticmethod
            def backward(ctx, output_grads):
                (probs,) = ctx.saved_tensors
                inner = (output_grads * probs).sum(dim=-1, keepdim=True)
                return probs * (output_grads - inner) * ctx.scale, None
    ''',
    "MindSpeed/mindspeed/core/parallel_state.py": '''
        from functools import wraps

        _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP = None


        def initialize_model_parallel_wrapper(initialize_model_parallel):
            @wraps(initialize_model_parallel)
            def wrapper(*args, **kwargs):
                global _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP
                initialize_model_parallel(*args, **kwargs)
                from megatron.core import parallel_state

                _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP = parallel_state.get_context_parallel_group()

            return wrapper


        def destroy_model_parallel_wrapper(destroy_model_parallel):
            @wraps(destroy_model_parallel)
            def wrapper():
                global _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP
                destroy_model_parallel()
                _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP = None

            return wrapper


        def get_context_parallel_group_for_send_recv_overlap(check_initialized=True):
            if check_initialized:
                assert _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP is not None, "send/recv overlap group not set"
            return _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP
    ''',
    "MindSpeed/mindspeed/core/pipeline_parallel/__init__.py": "",
    "MindSpeed/mindspeed/core/pipeline_parallel/dualpipev/__init__.py": "",
    "MindSpeed/mindspeed/core/pipeline_parallel/dualpipev/dualpipev_chunks.py": '''
        from megatron.core import parallel_state


        def get_num_layers_to_build(config):
            per_rank = config.num_layers // parallel_state.get_pipeline_model_parallel_world_size()
            return per_rank // 2
    ''',
    "MindSpeed/mindspeed/core/tensor_parallel/__init__.py": "",
    "MindSpeed/mindspeed/core/tensor_parallel/tp_2d.py": '''
        from functools import wraps


        def self_attention_init_tp2d_wrapper(fn):
            @wraps(fn)
            def wrapper(self, config, submodules, *args, **kwargs):
                fn(self, config, submodules, *args, **kwargs)
                self.tp_x, self.tp_y = config.tp_x, config.tp_y

            return wrapper
    ''',
    "MindSpeed/mindspeed/core/tensor_parallel/random.py": '''
        from functools import wraps

        import torch


        def _set_cuda_rng_state(new_state, device=-1):
            torch.set_rng_state(new_state)


        def checkpoint_function_forward(ctx, run_function, distribute_saved_activations, *args):
            ctx.run_function = run_function
            ctx.save_for_backward(*args)
            with torch.no_grad():
                return run_function(*args)


        def checkpoint_wrapper(checkpoint):
            @wraps(checkpoint)
            def wrapper(function, distribute_saved_activations, *args):
                if not torch.is_grad_enabled():
                    return function(*args)
                return checkpoint(function, distribute_saved_activations, *args)

            return wrapper
    ''',
    "MindSpeed/mindspeed/core/tensor_parallel/unaligned_layers/__init__.py": "",
    "MindSpeed/mindspeed/core/tensor_parallel/unaligned_layers/adaptor.py": '''
        from megatron.core.tensor_parallel.layers import ColumnParallelLinear as MegatronColumnParallelLinear


        class UnalignedColumnParallelLinearAdaptor(MegatronColumnParallelLinear):
            """Splits output columns unevenly when they do not divide by the tensor-parallel size."""

            def __init__(self, input_size, output_size, *args, **kwargs):
                self.unaligned_output_size = output_size
                super().__init__(input_size, output_size, *args, **kwargs)


        def divide_adaptor(numerator, denominator):
            return (numerator + denominator - 1) // denominator


        def gather_from_sequence_parallel_region_adaptor(input_, tensor_parallel_output_grad=True):
            from megatron.core.tensor_parallel.mappings import _GatherFromSequenceParallelRegion

            return _GatherFromSequenceParallelRegion.apply(input_, tensor_parallel_output_grad)


        def get_rotary_seq_len(self, inference_params, transformer_input, transformer_config, packed_seq_params=None):
            return transformer_input.size(0) * transformer_config.tensor_model_parallel_size
    ''',
    "MindSpeed/mindspeed/core/models/__init__.py": "",
    "MindSpeed/mindspeed/core/models/common/__init__.py": "",
    "MindSpeed/mindspeed/core/models/common/embeddings/__init__.py": "",
    "MindSpeed/mindspeed/core/models/common/embeddings/rotary_pos_embedding.py": '''
        from functools import wraps


        def rotary_embedding_get_rotary_seq_len_wrapper(fn):
            @wraps(fn)
            def wrapper(self, *args, **kwargs):
                return fn(self, *args, **kwargs) * getattr(self, "seq_len_interpolation", 1)

            return wrapper
    ''',
    "MindSpeed/mindspeed/core/optimizer/__init__.py": "",
    "MindSpeed/mindspeed/core/optimizer/swap_optimizer/__init__.py": "",
    "MindSpeed/mindspeed/core/optimizer/swap_optimizer/swap_optimizer.py": '''
        from megatron.core.optimizer.distrib_optimizer import DistributedOptimizer as MegatronDistributedOptimizer


        class SwapDistributedOptimizer(MegatronDistributedOptimizer):
            """Keeps the fp32 main parameters on the host between steps."""

            swap_to_host = True

            def step(self):
                self.swap_in()
                try:
                    return super().step()
                finally:
                    self.swap_out()

            def swap_in(self):
                self.swapped = False

            def swap_out(self):
                self.swapped = True
    ''',
    "MindSpeed/mindspeed/optimizer/__init__.py": "",
    "MindSpeed/mindspeed/optimizer/optimizer.py": '''
        from functools import wraps


        def optimizer_config_init_wrapper(init_func):
            @wraps(init_func)
            def wrapper(self, *args, **kwargs):
                init_func(self, *args, **kwargs)
                self.reuse_fp32_param = True

            return wrapper
    ''',
    "MindSpeed/mindspeed/optimizer/distrib_optimizer.py": '''
        @classmethod
        def build_model_gbuf_range(cls, param_and_grad_buffer, bucket_index):
            bucket = param_and_grad_buffer.buckets[bucket_index]
            return {"param_map": cls._build_model_gbuf_param_range_map({}, bucket.offset, None), "bucket": bucket}
    ''',
}
