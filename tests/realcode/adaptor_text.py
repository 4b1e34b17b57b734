# ruff: noqa: E501 - the adaptor text keeps a one-line `if ...: register(...)` suite, as long as MindSpeed-LLM writes it
"""The adaptor file of the suite's MindSpeed-LLM: every registration of ``adaptor_src.PATCHES`` plus one that the
patch JSON does not list, in the shapes MindSpeed-LLM writes them (positional, keyword, multi-line, one-line
``if`` suites, ``force_patch=``, ``create_dummy=``, module-attribute patch functions)."""

ADAPTOR = '''
    """Registers the suite's MindSpeed patches on Megatron core 0.8.0 (layout of MindSpeed-LLM 2.1.0)."""

    import argparse


    class MegatronAdaptation:
        _patches = {}
        _args = None

        @classmethod
        def execute(cls):
            CoreAdaptation().execute()
            cls.apply()

        @classmethod
        def register(cls, orig_func_name, new_func=None, force_patch=False, create_dummy=False):
            from mindspeed.patch_utils import Patch

            if orig_func_name in cls._patches:
                cls._patches[orig_func_name].set_patch_func(new_func, force_patch)
            else:
                cls._patches[orig_func_name] = Patch(orig_func_name, new_func, create_dummy)

        @classmethod
        def apply(cls):
            for patch in cls._patches.values():
                patch.apply_patch()

        @classmethod
        def get_args(cls):
            if cls._args is None:
                cls._args, _ = argparse.ArgumentParser(allow_abbrev=False).parse_known_args()
            return cls._args


    class CoreAdaptation:
        def execute(self):
            self.patch_fusions()
            self.patch_parallel_state()
            self.patch_transformer_config()
            self.patch_attention()
            self.patch_transformer_block()
            self.patch_moe()
            self.patch_tensor_parallel()
            self.patch_optimizer()
            self.patch_core_models()

        def patch_fusions(self):
            from mindspeed.core.fusions.fused_layer_norm import FastLayerNormFN
            from mindspeed.core.fusions.fused_softmax import ScaledSoftmax, get_batch_per_block, is_kernel_available

            MegatronAdaptation.register('megatron.core.fusions.fused_layer_norm.FastLayerNormFN', FastLayerNormFN)
            MegatronAdaptation.register('megatron.core.fusions.fused_softmax.ScaledSoftmax', ScaledSoftmax)
            MegatronAdaptation.register('megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax.is_kernel_available',
                                        is_kernel_available)
            MegatronAdaptation.register(
                orig_func_name='megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax.get_batch_per_block',
                new_func=get_batch_per_block,
            )

        def patch_parallel_state(self):
            from mindspeed.core.parallel_state import (
                destroy_model_parallel_wrapper,
                get_context_parallel_group_for_send_recv_overlap,
                initialize_model_parallel_wrapper,
            )
            from mindspeed_llm.core import destroy_model_parallel_decorator

            MegatronAdaptation.register('megatron.core.parallel_state.initialize_model_parallel',
                                        initialize_model_parallel_wrapper)
            MegatronAdaptation.register('megatron.core.parallel_state.destroy_model_parallel',
                                        destroy_model_parallel_decorator)
            MegatronAdaptation.register('megatron.core.parallel_state.destroy_model_parallel',
                                        destroy_model_parallel_wrapper)
            MegatronAdaptation.register('megatron.core.parallel_state.get_context_parallel_group_for_send_recv_overlap',
                                        get_context_parallel_group_for_send_recv_overlap)

        def patch_transformer_config(self):
            args = MegatronAdaptation.get_args()
            from mindspeed.core.transformer.transformer_config import (
                transformer_config_post_init,
                transformer_config_post_init_wrapper,
            )
            from mindspeed_llm.core.transformer.transformer_config import transformer_config_post_init_mtp_wrapper

            if args.tp_2d:
                MegatronAdaptation.register('megatron.core.transformer.transformer_config.TransformerConfig.__post_init__',
                                            transformer_config_post_init)
            MegatronAdaptation.register('megatron.core.transformer.transformer_config.TransformerConfig.__post_init__',
                                        transformer_config_post_init_wrapper)
            MegatronAdaptation.register('megatron.core.transformer.transformer_config.TransformerConfig.__post_init__',
                                        transformer_config_post_init_mtp_wrapper)
            if args.unaligned_linear:
                MegatronAdaptation.register(
                    'megatron.core.transformer.transformer_config.TransformerConfig.__post_init__',
                    transformer_config_post_init,
                    force_patch=True,
                )

        def patch_attention(self):
            args = MegatronAdaptation.get_args()
            from mindspeed.core.transformer.attention import (
                attention_init,
                attention_init_wrapper,
                self_attention_init_wrapper,
            )

            MegatronAdaptation.register('megatron.core.transformer.attention.Attention.__init__', attention_init)
            MegatronAdaptation.register('megatron.core.transformer.attention.SelfAttention.__init__',
                                        self_attention_init_wrapper)
            if args.unaligned_linear: MegatronAdaptation.register('megatron.core.transformer.attention.Attention.__init__', attention_init_wrapper)
            if args.tp_2d:
                from mindspeed.core.tensor_parallel.tp_2d import self_attention_init_tp2d_wrapper

                MegatronAdaptation.register('megatron.core.transformer.attention.SelfAttention.__init__',
                                            self_attention_init_tp2d_wrapper)

        def patch_transformer_block(self):
            args = MegatronAdaptation.get_args()
            from mindspeed.core.transformer.transformer_block import transformer_block_checkpointed_forward_wrapper
            from mindspeed_llm.core import PTNorm, get_num_layers_to_build_wrapper
            from mindspeed_llm.core.transformer import transformer_block as llm_block

            MegatronAdaptation.register('megatron.core.transformer.transformer_block.TENorm', PTNorm)
            MegatronAdaptation.register('megatron.core.transformer.transformer_block.TransformerBlock.get_layer_scale',
                                        llm_block.get_layer_scale, create_dummy=True)
            MegatronAdaptation.register('megatron.core.transformer.transformer_block.get_num_layers_to_build',
                                        get_num_layers_to_build_wrapper)
            if args.moe_fb_overlap and args.schedules_method == 'dualpipev':
                from mindspeed.core.pipeline_parallel.dualpipev.dualpipev_chunks import get_num_layers_to_build

                MegatronAdaptation.register('megatron.core.transformer.transformer_block.get_num_layers_to_build',
                                            get_num_layers_to_build)
            if args.share_kvstates:
                MegatronAdaptation.register(
                    'megatron.core.transformer.transformer_block.TransformerBlock._checkpointed_forward',
                    llm_block.share_kvstates_checkpointed_forward_func)
            else:
                MegatronAdaptation.register(
                    'megatron.core.transformer.transformer_block.TransformerBlock._checkpointed_forward',
                    transformer_block_checkpointed_forward_wrapper)

        def patch_moe(self):
            args = MegatronAdaptation.get_args()
            from mindspeed.core.transformer.moe.experts import group_mlp_forward, groupedmlp_forward
            from mindspeed.core.transformer.moe.grouped_gemm_util import (
                Ops,
                assert_grouped_gemm_is_available,
                grouped_gemm_is_available,
            )

            MegatronAdaptation.register('megatron.core.transformer.moe.grouped_gemm_util.ops', Ops)
            MegatronAdaptation.register('megatron.core.transformer.moe.grouped_gemm_util.grouped_gemm_is_available',
                                        grouped_gemm_is_available)
            MegatronAdaptation.register(
                'megatron.core.transformer.moe.grouped_gemm_util.assert_grouped_gemm_is_available',
                assert_grouped_gemm_is_available)
            if args.moe_permutation_async_comm:
                if args.moe_token_dispatcher_type == 'allgather' and args.moe_allgather_overlap_comm:
                    MegatronAdaptation.register('megatron.core.transformer.moe.experts.GroupedMLP.forward',
                                                group_mlp_forward)
                if args.moe_alltoall_overlap_comm and args.moe_token_dispatcher_type == 'alltoall':
                    MegatronAdaptation.register('megatron.core.transformer.moe.experts.GroupedMLP.forward',
                                                group_mlp_forward, force_patch=True)
            if not args.moe_alltoall_overlap_comm and not args.moe_allgather_overlap_comm:
                MegatronAdaptation.register('megatron.core.transformer.moe.experts.GroupedMLP.forward',
                                            groupedmlp_forward, force_patch=True)
            if args.moe_permutation_async_comm and args.moe_token_dispatcher_type == 'alltoall':
                from mindspeed.core.transformer.moe import token_dispatcher

                if args.moe_tp_extend_ep:
                    MegatronAdaptation.register(
                        'megatron.core.transformer.moe.token_dispatcher.MoEAlltoAllTokenDispatcher.preprocess',
                        token_dispatcher.preprocess_tp_extend_ep)
                else:
                    MegatronAdaptation.register(
                        'megatron.core.transformer.moe.token_dispatcher.MoEAlltoAllTokenDispatcher.preprocess',
                        token_dispatcher.preprocess)

        def patch_tensor_parallel(self):
            args = MegatronAdaptation.get_args()
            from mindspeed.core.tensor_parallel.random import (
                _set_cuda_rng_state,
                checkpoint_function_forward,
                checkpoint_wrapper,
            )
            from mindspeed.core.models.common.embeddings.rotary_pos_embedding import (
                rotary_embedding_get_rotary_seq_len_wrapper,
            )
            from mindspeed_llm.core import checkpoint_forward_wrapper
            from mindspeed_llm.tasks.posttrain.lora.utils import is_enable_qlora

            MegatronAdaptation.register('megatron.core.tensor_parallel.random._set_cuda_rng_state', _set_cuda_rng_state)
            MegatronAdaptation.register('megatron.core.tensor_parallel.random.CheckpointFunction.forward',
                                        checkpoint_function_forward)
            MegatronAdaptation.register('megatron.core.tensor_parallel.random.CheckpointFunction.forward',
                                        checkpoint_forward_wrapper)
            MegatronAdaptation.register('megatron.core.tensor_parallel.checkpoint', checkpoint_wrapper)
            if is_enable_qlora(args):
                from mindspeed_llm.tasks.posttrain.lora import qlora

                MegatronAdaptation.register('megatron.core.tensor_parallel.layers.ColumnParallelLinear.__init__',
                                            qlora.parallel_linear_init_wrapper)
                MegatronAdaptation.register(
                    'megatron.core.tensor_parallel.layers.ColumnParallelLinear._load_from_state_dict',
                    qlora.parallel_linear_load_from_state_dict_wrapper)
                MegatronAdaptation.register(
                    'megatron.core.tensor_parallel.layers.RowParallelLinear._save_to_state_dict',
                    qlora.parallel_linear_save_to_state_dict_wrapper)
                MegatronAdaptation.register('mindspeed.core.transformer.moe.grouped_gemm_util.Ops.gmm',
                                            qlora.grouped_gemm_util_ops_gmm)
            if args.unaligned_linear:
                from mindspeed.core.tensor_parallel.unaligned_layers.adaptor import (
                    UnalignedColumnParallelLinearAdaptor,
                    divide_adaptor,
                    gather_from_sequence_parallel_region_adaptor,
                    get_rotary_seq_len,
                )

                MegatronAdaptation.register('megatron.core.tensor_parallel.layers.ColumnParallelLinear',
                                            UnalignedColumnParallelLinearAdaptor)
                MegatronAdaptation.register('megatron.core.utils.divide', divide_adaptor)
                MegatronAdaptation.register('megatron.core.tensor_parallel.mappings.gather_from_sequence_parallel_region',
                                            gather_from_sequence_parallel_region_adaptor)
                MegatronAdaptation.register(
                    'megatron.core.models.common.embeddings.rotary_pos_embedding.RotaryEmbedding.get_rotary_seq_len',
                    get_rotary_seq_len)
            MegatronAdaptation.register(
                'megatron.core.models.common.embeddings.rotary_pos_embedding.RotaryEmbedding.get_rotary_seq_len',
                rotary_embedding_get_rotary_seq_len_wrapper)

        def patch_optimizer(self):
            args = MegatronAdaptation.get_args()
            from mindspeed.optimizer.distrib_optimizer import build_model_gbuf_range
            from mindspeed.optimizer.optimizer import optimizer_config_init_wrapper

            if args.reuse_fp32_param:
                if args.enable_high_availability:
                    MegatronAdaptation.register('megatron.core.optimizer.optimizer_config.OptimizerConfig.__init__',
                                                optimizer_config_init_wrapper)
                else:
                    MegatronAdaptation.register('megatron.core.optimizer.optimizer_config.OptimizerConfig.__init__',
                                                optimizer_config_init_wrapper)
            MegatronAdaptation.register(
                'megatron.core.optimizer.distrib_optimizer.DistributedOptimizer._build_model_gbuf_range',
                build_model_gbuf_range,
            )
            if args.swap_optimizer:
                from mindspeed.core.optimizer.swap_optimizer.swap_optimizer import SwapDistributedOptimizer

                MegatronAdaptation.register('megatron.core.optimizer.distrib_optimizer.DistributedOptimizer',
                                            SwapDistributedOptimizer)

        def patch_core_models(self):
            from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec
            from mindspeed_llm.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec_wrapper
            from mindspeed_llm.core.models.gpt.gpt_model import GPTModel

            MegatronAdaptation.register('megatron.core.models.gpt.gpt_layer_specs.get_gpt_layer_with_transformer_engine_spec',
                                        get_gpt_layer_local_spec)
            MegatronAdaptation.register('megatron.core.models.gpt.gpt_layer_specs.get_gpt_layer_local_spec',
                                        get_gpt_layer_local_spec_wrapper)
            MegatronAdaptation.register('megatron.core.models.gpt.gpt_model.GPTModel', GPTModel)
'''
