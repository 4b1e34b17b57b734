"""MindSpeed-LLM's command line: added to Megatron's by parse_args_decorator, parsed alone by the adaptor."""

from functools import wraps

from megatron.core.calllog import record


def process_args(parser):
    parser.conflict_handler = "resolve"
    group = parser.add_argument_group(title="mindspeed-llm")
    group.add_argument("--use-fast-norm", action="store_true", help="fused RMS norm kernel")
    group.add_argument("--tp-2d", action="store_true", help="2D tensor parallelism")
    group.add_argument("--unaligned-linear", action="store_true", help="heads need not divide the hidden size")
    group.add_argument("--mode", choices=["base", "a", "b"], default="base", help="attention variant")
    group.add_argument("--use-fused-attention", action="store_true", help="fused attention (wins over --mode)")
    group.add_argument("--use-flash-attn", action="store_true", help="flash attention core")
    group.add_argument("--qlora", action="store_true", help="quantized low-rank fine-tuning")
    group.add_argument("--no-layer-scale", action="store_true", help="keep Megatron's TransformerBlock.forward")
    return parser


def extra_args_provider_decorator(extra_args_provider):
    def provider(parser):
        if extra_args_provider is not None:
            parser = extra_args_provider(parser)
        return process_args(parser)

    return provider


def parse_args_decorator(parse_args):
    @wraps(parse_args)
    def wrapper(extra_args_provider=None, ignore_unknown_args=False):
        record("mindspeed_llm:parse_args_decorator")
        return parse_args(extra_args_provider_decorator(extra_args_provider), ignore_unknown_args)

    return wrapper
