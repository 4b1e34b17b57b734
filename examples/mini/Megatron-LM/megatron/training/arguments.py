"""Megatron's command line."""

import argparse

from megatron.core.calllog import record
from megatron.core.transformer.transformer_config import TransformerConfig


def parse_args(extra_args_provider=None, ignore_unknown_args=False):
    record("megatron:parse_args")
    parser = argparse.ArgumentParser(description="Mini Megatron-LM arguments", allow_abbrev=False)
    group = parser.add_argument_group(title="network size")
    group.add_argument("--num-layers", type=int, default=2)
    group.add_argument("--hidden-size", type=int, default=8)
    group.add_argument("--num-attention-heads", type=int, default=2)
    group.add_argument("--ffn-hidden-size", type=int, default=None)
    group.add_argument("--num-experts", type=int, default=None)
    group.add_argument("--use-legacy-models", action="store_true")
    group.add_argument("--transformer-impl", choices=["transformer_engine", "local"], default="transformer_engine")
    group.add_argument("--no-masked-softmax-fusion", dest="masked_softmax_fusion", action="store_false")
    group = parser.add_argument_group(title="training")
    group.add_argument("--seq-length", type=int, default=4)
    group.add_argument("--train-iters", type=int, default=3)
    group.add_argument("--lr", type=float, default=0.05)
    group.add_argument("--weight-decay", type=float, default=0.0)
    group.add_argument("--init-method-std", type=float, default=0.1)
    group.add_argument("--seed", type=int, default=1234)
    group.add_argument("--tensor-model-parallel-size", type=int, default=1)
    if extra_args_provider is not None:
        parser = extra_args_provider(parser)
    if ignore_unknown_args:
        args, _ = parser.parse_known_args()
    else:
        args = parser.parse_args()
    return args


def core_transformer_config_from_args(args):
    return TransformerConfig(
        num_layers=args.num_layers,
        hidden_size=args.hidden_size,
        num_attention_heads=args.num_attention_heads,
        ffn_hidden_size=args.ffn_hidden_size,
        init_method_std=args.init_method_std,
        masked_softmax_fusion=args.masked_softmax_fusion,
        num_moe_experts=args.num_experts,
    )
