"""Registers MindSpeed-LLM's patches on the mini Megatron, in the layout of MindSpeed-LLM 2.1.0.

Each adaptation class registers in its methods; conditions read the args that ``MegatronAdaptation.get_args()``
parses from ``sys.argv``. ``execute()`` applies the registered patches after the core adaptation and again after the
legacy one (the second apply only touches targets registered since the first).
"""

import argparse
from abc import ABC, abstractmethod


class MegatronAdaptationABC(ABC):
    @abstractmethod
    def execute(self):
        """Register this adaptation's patches."""


class MegatronAdaptation:
    _patch_info_collection = {}
    _args = None

    @classmethod
    def execute(cls):
        for adaptation in [CoreAdaptation(), LegacyAdaptation()]:
            adaptation.execute()
            cls.apply()

    @classmethod
    def register(cls, orig_func_name, new_func=None, force_patch=False, create_dummy=False):
        from mindspeed.patch_utils import Patch

        if orig_func_name not in cls._patch_info_collection:
            cls._patch_info_collection[orig_func_name] = Patch(orig_func_name, new_func, create_dummy)
        else:
            cls._patch_info_collection[orig_func_name].set_patch_func(new_func, force_patch)

    @classmethod
    def apply(cls):
        for patch in cls._patch_info_collection.values():
            patch.apply_patch()

    @classmethod
    def get_args(cls):
        if cls._args is None:
            from mindspeed_llm.training.arguments import process_args

            parser = argparse.ArgumentParser(description="MindSpeed-LLM arguments", allow_abbrev=False)
            cls._args, _ = process_args(parser).parse_known_args()
        return cls._args


class CoreAdaptation(MegatronAdaptationABC):
    def execute(self):
        self.patch_fusions()
        self.patch_parallel_state()
        self.patch_tensor_parallel()
        self.patch_transformer_config()
        self.patch_attention()
        self.patch_mlp()
        self.patch_moe()
        self.patch_transformer_block()
        self.patch_core_models()
        self.patch_optimizer()
        self.patch_training()

    def patch_fusions(self):
        from mindspeed.core.fusions.fused_bias_swiglu import SwiGLUFunction
        from mindspeed.core.fusions.fused_softmax import from_config, get_batch_per_block, is_kernel_available

        MegatronAdaptation.register('megatron.core.fusions.fused_bias_swiglu.SwiGLUFunction', SwiGLUFunction)
        MegatronAdaptation.register('megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax.is_kernel_available',
                                    is_kernel_available)
        MegatronAdaptation.register('megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax.get_batch_per_block',
                                    get_batch_per_block)
        MegatronAdaptation.register('megatron.core.fusions.fused_softmax.FusedScaleMaskSoftmax.from_config',
                                    from_config)

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

    def patch_tensor_parallel(self):
        args = MegatronAdaptation.get_args()
        from mindspeed_llm.tasks.posttrain.utils import is_enable_qlora

        if is_enable_qlora(args):
            from mindspeed_llm.tasks.posttrain.qlora import parallel_linear_init_wrapper

            MegatronAdaptation.register('megatron.core.tensor_parallel.layers.ColumnParallelLinear.__init__',
                                        parallel_linear_init_wrapper)
        if args.tp_2d:
            from mindspeed.core.tensor_parallel.tp_2d import (
                row_parallel_linear_forward_2d,
                self_attention_init_tp2d_wrapper,
            )

            MegatronAdaptation.register('megatron.core.transformer.attention.SelfAttention.__init__',
                                        self_attention_init_tp2d_wrapper)
            if args.mode == 'b':
                MegatronAdaptation.register('megatron.core.tensor_parallel.layers.RowParallelLinear.forward',
                                            row_parallel_linear_forward_2d)

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
            MegatronAdaptation.register('megatron.core.transformer.transformer_config.TransformerConfig.__post_init__',
                                        transformer_config_post_init)

    def patch_attention(self):
        args = MegatronAdaptation.get_args()
        from mindspeed_llm.core.transformer.attention import (
            attention_forward_a,
            attention_forward_b,
            attention_forward_fused,
        )

        if args.mode == 'a':
            MegatronAdaptation.register('megatron.core.transformer.attention.Attention.forward', attention_forward_a)
        if args.mode == 'b':
            MegatronAdaptation.register('megatron.core.transformer.attention.Attention.forward', attention_forward_b)
        if args.use_fused_attention:
            MegatronAdaptation.register(
                'megatron.core.transformer.attention.Attention.forward',
                attention_forward_fused,
                force_patch=True,
            )
        if args.use_flash_attn:
            from mindspeed_llm.core.transformer.dot_product_attention import DotProductAttention

            MegatronAdaptation.register('megatron.core.transformer.dot_product_attention.DotProductAttention',
                                        DotProductAttention)

    def patch_mlp(self):
        from mindspeed_llm.core.transformer.mlp import gated_mlp_forward_wrapper

        MegatronAdaptation.register('megatron.core.transformer.mlp.GatedMLP.forward', gated_mlp_forward_wrapper)

    def patch_moe(self):
        args = MegatronAdaptation.get_args()
        from mindspeed.core.transformer.moe.grouped_gemm_util import Ops

        from mindspeed_llm.tasks.posttrain.utils import is_enable_qlora

        MegatronAdaptation.register('megatron.core.transformer.moe.grouped_gemm_util.ops', Ops)
        if is_enable_qlora(args):
            from mindspeed_llm.tasks.posttrain.qlora import grouped_gemm_util_ops_gmm

            MegatronAdaptation.register('mindspeed.core.transformer.moe.grouped_gemm_util.Ops.gmm',
                                        grouped_gemm_util_ops_gmm)

    def patch_transformer_block(self):
        args = MegatronAdaptation.get_args()
        from mindspeed_llm.core import PTNorm
        from mindspeed_llm.core.transformer.custom_layers import fast_norm_forward
        from mindspeed_llm.core.transformer.transformer_block import get_layer_scale, transformer_block_forward

        MegatronAdaptation.register('megatron.core.transformer.transformer_block.TENorm', PTNorm)
        if args.use_fast_norm:
            MegatronAdaptation.register('megatron.core.transformer.torch_norm.WrappedTorchNorm.forward',
                                        fast_norm_forward)
        MegatronAdaptation.register('megatron.core.transformer.transformer_block.TransformerBlock.get_layer_scale',
                                    get_layer_scale, create_dummy=True)
        if not args.no_layer_scale:
            MegatronAdaptation.register('megatron.core.transformer.transformer_block.TransformerBlock.forward',
                                        transformer_block_forward)

    def patch_core_models(self):
        from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec

        from mindspeed_llm.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec_wrapper
        from mindspeed_llm.core.models.gpt.gpt_model import GPTModel

        MegatronAdaptation.register('megatron.core.models.gpt.gpt_layer_specs.get_gpt_layer_with_transformer_engine_spec',
                                    get_gpt_layer_local_spec)
        MegatronAdaptation.register('megatron.core.models.gpt.gpt_layer_specs.get_gpt_layer_local_spec',
                                    get_gpt_layer_local_spec_wrapper)
        MegatronAdaptation.register('megatron.core.models.gpt.gpt_model.GPTModel', GPTModel)

    def patch_optimizer(self):
        from mindspeed_llm.core.optimizer import optimizer_config_init_wrapper

        MegatronAdaptation.register('megatron.core.optimizer.optimizer_config.OptimizerConfig.__init__',
                                    optimizer_config_init_wrapper)

    def patch_training(self):
        args = MegatronAdaptation.get_args()
        from mindspeed_llm.tasks.posttrain.utils import is_enable_qlora
        from mindspeed_llm.training import get_model_wrapper
        from mindspeed_llm.training.arguments import parse_args_decorator
        from mindspeed_llm.training.utils import calc_params_l2_norm, unwrap_model_wrapper

        MegatronAdaptation.register('megatron.training.arguments.parse_args', parse_args_decorator)
        if is_enable_qlora(args):
            from mindspeed_llm.tasks.posttrain.qlora import get_model

            MegatronAdaptation.register('megatron.training.training.get_model', get_model)
        if not is_enable_qlora(args):
            MegatronAdaptation.register('megatron.training.training.get_model', get_model_wrapper)
        MegatronAdaptation.register('megatron.training.checkpointing.unwrap_model', unwrap_model_wrapper)
        MegatronAdaptation.register('megatron.training.training.unwrap_model', unwrap_model_wrapper)
        MegatronAdaptation.register('megatron.training.utils.calc_params_l2_norm', calc_params_l2_norm)


class LegacyAdaptation(MegatronAdaptationABC):
    def execute(self):
        self.patch_legacy_models()

    def patch_legacy_models(self):
        from mindspeed_llm.legacy.model import (
            GPTModel,
            parallel_transformer_forward,
            state_dict_for_save_checkpoint_wrapper,
        )

        MegatronAdaptation.register('megatron.legacy.model.GPTModel', GPTModel)
        MegatronAdaptation.register('megatron.legacy.model.transformer.ParallelTransformer.forward',
                                    parallel_transformer_forward)
        MegatronAdaptation.register(
            'megatron.legacy.model.transformer.ParallelTransformer.state_dict_for_save_checkpoint',
            state_dict_for_save_checkpoint_wrapper)
