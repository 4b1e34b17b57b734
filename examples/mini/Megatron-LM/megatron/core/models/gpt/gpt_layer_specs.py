"""Layer specs: which classes build a transformer layer (a plain dict in the mini tree)."""

from megatron.core.calllog import record
from megatron.core.transformer.attention import SelfAttention
from megatron.core.transformer.mlp import MLP, GatedMLP
from megatron.core.transformer.moe.experts import GroupedMLP
from megatron.core.transformer.torch_norm import WrappedTorchNorm


def get_gpt_layer_with_transformer_engine_spec(num_experts=None, qk_layernorm=False):
    record("megatron:get_gpt_layer_with_transformer_engine_spec")
    return {
        "backend": "transformer_engine",
        "attention": SelfAttention,
        "mlp": GroupedMLP if num_experts else MLP,
        "norm": WrappedTorchNorm,
        "qk_layernorm": qk_layernorm,
    }


def get_gpt_layer_local_spec(num_experts=None, qk_layernorm=False):
    record("megatron:get_gpt_layer_local_spec")
    return {
        "backend": "local",
        "attention": SelfAttention,
        "mlp": GroupedMLP if num_experts else GatedMLP,
        "norm": WrappedTorchNorm,
        "qk_layernorm": qk_layernorm,
    }
