"""The adaptor that registers the suite's patches (MindSpeed-LLM 2.1.0 layout: imports inside the methods,
registrations under ``if args.x:``), and the patch JSON that lists the same registrations."""

from __future__ import annotations

import json

ADAPTOR_PATH = "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py"
QLORA = "is_enable_qlora(args)"
QLORA_IMPORT = ["mindspeed_llm.tasks.posttrain.lora.utils.is_enable_qlora"]
# registered in the adaptor but deliberately absent from the patch JSON: must stay active after a merge
UNLISTED = {
    (
        "megatron.core.transformer.moe.grouped_gemm_util.assert_grouped_gemm_is_available",
        "mindspeed.core.transformer.moe.grouped_gemm_util.assert_grouped_gemm_is_available",
    )
}

_MC = "megatron.core."
_MS = "mindspeed.core."
_LLM = "mindspeed_llm."
_MSO = "mindspeed.optimizer."
_ASYNC = "args.moe_permutation_async_comm"
_A2A = "args.moe_token_dispatcher_type == 'alltoall'"
_DUALPIPE = ["args.moe_fb_overlap", "args.schedules_method == 'dualpipev'"]

# (target, patch_import, condition, condition_import), in registration order
PATCHES: list[tuple[str, str, list[str], list[str]]] = [
    (_MC + "fusions.fused_layer_norm.FastLayerNormFN", _MS + "fusions.fused_layer_norm.FastLayerNormFN", [], []),
    (_MC + "fusions.fused_softmax.ScaledSoftmax", _MS + "fusions.fused_softmax.ScaledSoftmax", [], []),
    (_MC + "fusions.fused_softmax.FusedScaleMaskSoftmax.is_kernel_available",
     _MS + "fusions.fused_softmax.is_kernel_available", [], []),
    (_MC + "fusions.fused_softmax.FusedScaleMaskSoftmax.get_batch_per_block",
     _MS + "fusions.fused_softmax.get_batch_per_block", [], []),
    (_MC + "parallel_state.initialize_model_parallel", _MS + "parallel_state.initialize_model_parallel_wrapper",
     [], []),
    (_MC + "parallel_state.destroy_model_parallel", _LLM + "core.destroy_model_parallel_decorator", [], []),
    (_MC + "parallel_state.destroy_model_parallel", _MS + "parallel_state.destroy_model_parallel_wrapper", [], []),
    (_MC + "parallel_state.get_context_parallel_group_for_send_recv_overlap",
     _MS + "parallel_state.get_context_parallel_group_for_send_recv_overlap", [], []),
    (_MC + "transformer.transformer_config.TransformerConfig.__post_init__",
     _MS + "transformer.transformer_config.transformer_config_post_init", ["args.tp_2d"], []),
    (_MC + "transformer.transformer_config.TransformerConfig.__post_init__",
     _MS + "transformer.transformer_config.transformer_config_post_init_wrapper", [], []),
    (_MC + "transformer.transformer_config.TransformerConfig.__post_init__",
     _LLM + "core.transformer.transformer_config.transformer_config_post_init_mtp_wrapper", [], []),
    (_MC + "transformer.transformer_config.TransformerConfig.__post_init__",
     _MS + "transformer.transformer_config.transformer_config_post_init", ["args.unaligned_linear"], []),
    (_MC + "transformer.attention.Attention.__init__", _MS + "transformer.attention.attention_init", [], []),
    (_MC + "transformer.attention.SelfAttention.__init__",
     _MS + "transformer.attention.self_attention_init_wrapper", [], []),
    (_MC + "transformer.attention.Attention.__init__",
     _MS + "transformer.attention.attention_init_wrapper", ["args.unaligned_linear"], []),
    (_MC + "transformer.attention.SelfAttention.__init__",
     _MS + "tensor_parallel.tp_2d.self_attention_init_tp2d_wrapper", ["args.tp_2d"], []),
    (_MC + "transformer.transformer_block.TENorm", _LLM + "core.PTNorm", [], []),
    (_MC + "transformer.transformer_block.TransformerBlock.get_layer_scale",
     _LLM + "core.transformer.transformer_block.get_layer_scale", [], []),
    (_MC + "transformer.transformer_block.get_num_layers_to_build", _LLM + "core.get_num_layers_to_build_wrapper",
     [], []),
    (_MC + "transformer.transformer_block.get_num_layers_to_build",
     _MS + "pipeline_parallel.dualpipev.dualpipev_chunks.get_num_layers_to_build", _DUALPIPE, []),
    (_MC + "transformer.transformer_block.TransformerBlock._checkpointed_forward",
     _LLM + "core.transformer.transformer_block.share_kvstates_checkpointed_forward_func",
     ["args.share_kvstates"], []),
    (_MC + "transformer.transformer_block.TransformerBlock._checkpointed_forward",
     _MS + "transformer.transformer_block.transformer_block_checkpointed_forward_wrapper",
     ["not args.share_kvstates"], []),
    (_MC + "transformer.moe.grouped_gemm_util.ops", _MS + "transformer.moe.grouped_gemm_util.Ops", [], []),
    (_MC + "transformer.moe.grouped_gemm_util.grouped_gemm_is_available",
     _MS + "transformer.moe.grouped_gemm_util.grouped_gemm_is_available", [], []),
    (_MC + "transformer.moe.experts.GroupedMLP.forward", _MS + "transformer.moe.experts.group_mlp_forward",
     [_ASYNC, "args.moe_token_dispatcher_type == 'allgather'", "args.moe_allgather_overlap_comm"], []),
    (_MC + "transformer.moe.experts.GroupedMLP.forward", _MS + "transformer.moe.experts.group_mlp_forward",
     [_ASYNC, "args.moe_alltoall_overlap_comm", _A2A], []),
    (_MC + "transformer.moe.experts.GroupedMLP.forward", _MS + "transformer.moe.experts.groupedmlp_forward",
     ["not args.moe_alltoall_overlap_comm", "not args.moe_allgather_overlap_comm"], []),
    (_MC + "transformer.moe.token_dispatcher.MoEAlltoAllTokenDispatcher.preprocess",
     _MS + "transformer.moe.token_dispatcher.preprocess_tp_extend_ep", [_ASYNC, "args.moe_tp_extend_ep", _A2A], []),
    (_MC + "transformer.moe.token_dispatcher.MoEAlltoAllTokenDispatcher.preprocess",
     _MS + "transformer.moe.token_dispatcher.preprocess", [_ASYNC, "not args.moe_tp_extend_ep", _A2A], []),
    (_MC + "tensor_parallel.random._set_cuda_rng_state", _MS + "tensor_parallel.random._set_cuda_rng_state", [], []),
    (_MC + "tensor_parallel.random.CheckpointFunction.forward",
     _MS + "tensor_parallel.random.checkpoint_function_forward", [], []),
    (_MC + "tensor_parallel.random.CheckpointFunction.forward", _LLM + "core.checkpoint_forward_wrapper", [], []),
    (_MC + "tensor_parallel.checkpoint", _MS + "tensor_parallel.random.checkpoint_wrapper", [], []),
    (_MC + "tensor_parallel.layers.ColumnParallelLinear.__init__",
     _LLM + "tasks.posttrain.lora.qlora.parallel_linear_init_wrapper", [QLORA], QLORA_IMPORT),
    (_MC + "tensor_parallel.layers.ColumnParallelLinear._load_from_state_dict",
     _LLM + "tasks.posttrain.lora.qlora.parallel_linear_load_from_state_dict_wrapper", [QLORA], QLORA_IMPORT),
    (_MC + "tensor_parallel.layers.RowParallelLinear._save_to_state_dict",
     _LLM + "tasks.posttrain.lora.qlora.parallel_linear_save_to_state_dict_wrapper", [QLORA], QLORA_IMPORT),
    ("mindspeed.core.transformer.moe.grouped_gemm_util.Ops.gmm",
     _LLM + "tasks.posttrain.lora.qlora.grouped_gemm_util_ops_gmm", [QLORA], QLORA_IMPORT),
    (_MC + "tensor_parallel.layers.ColumnParallelLinear",
     _MS + "tensor_parallel.unaligned_layers.adaptor.UnalignedColumnParallelLinearAdaptor",
     ["args.unaligned_linear"], []),
    (_MC + "utils.divide", _MS + "tensor_parallel.unaligned_layers.adaptor.divide_adaptor",
     ["args.unaligned_linear"], []),
    (_MC + "tensor_parallel.mappings.gather_from_sequence_parallel_region",
     _MS + "tensor_parallel.unaligned_layers.adaptor.gather_from_sequence_parallel_region_adaptor",
     ["args.unaligned_linear"], []),
    (_MC + "models.common.embeddings.rotary_pos_embedding.RotaryEmbedding.get_rotary_seq_len",
     _MS + "tensor_parallel.unaligned_layers.adaptor.get_rotary_seq_len", ["args.unaligned_linear"], []),
    (_MC + "models.common.embeddings.rotary_pos_embedding.RotaryEmbedding.get_rotary_seq_len",
     _MS + "models.common.embeddings.rotary_pos_embedding.rotary_embedding_get_rotary_seq_len_wrapper", [], []),
    (_MC + "optimizer.optimizer_config.OptimizerConfig.__init__", _MSO + "optimizer.optimizer_config_init_wrapper",
     ["args.reuse_fp32_param", "args.enable_high_availability"], []),
    (_MC + "optimizer.optimizer_config.OptimizerConfig.__init__", _MSO + "optimizer.optimizer_config_init_wrapper",
     ["args.reuse_fp32_param", "not args.enable_high_availability"], []),
    (_MC + "optimizer.distrib_optimizer.DistributedOptimizer._build_model_gbuf_range",
     _MSO + "distrib_optimizer.build_model_gbuf_range", [], []),
    (_MC + "optimizer.distrib_optimizer.DistributedOptimizer",
     _MS + "optimizer.swap_optimizer.swap_optimizer.SwapDistributedOptimizer", ["args.swap_optimizer"], []),
    (_MC + "models.gpt.gpt_layer_specs.get_gpt_layer_with_transformer_engine_spec",
     _MC + "models.gpt.gpt_layer_specs.get_gpt_layer_local_spec", [], []),
    (_MC + "models.gpt.gpt_layer_specs.get_gpt_layer_local_spec",
     _LLM + "core.models.gpt.gpt_layer_specs.get_gpt_layer_local_spec_wrapper", [], []),
    (_MC + "models.gpt.gpt_model.GPTModel", _LLM + "core.models.gpt.gpt_model.GPTModel", [], []),
]


# the registrations the adaptor makes with force_patch=True: (target, patch_import, condition)
FORCE_PATCH = {
    (_MC + "transformer.transformer_config.TransformerConfig.__post_init__",
     _MS + "transformer.transformer_config.transformer_config_post_init", ("args.unaligned_linear",)),
    (_MC + "transformer.moe.experts.GroupedMLP.forward", _MS + "transformer.moe.experts.group_mlp_forward",
     (_ASYNC, "args.moe_alltoall_overlap_comm", _A2A)),
    (_MC + "transformer.moe.experts.GroupedMLP.forward", _MS + "transformer.moe.experts.groupedmlp_forward",
     ("not args.moe_alltoall_overlap_comm", "not args.moe_allgather_overlap_comm")),
}


def patch_json() -> str:
    """The patch JSON in the shape of the real one: quoted keys, patches in registration order."""
    by_target: dict[str, list[dict]] = {}
    for target, patch_import, condition, condition_import in PATCHES:
        entry: dict = {"patch_import": patch_import, "patch_name": patch_import.rsplit(".", 1)[1],
                       "condition": condition}
        if condition_import:
            entry["condition_import"] = condition_import
        if (target, patch_import, tuple(condition)) in FORCE_PATCH:
            entry["force_patch"] = True
        by_target.setdefault(f"'{target}'", []).append(entry)
    return json.dumps(by_target, indent=4) + "\n"

