"""Start-up: parse the arguments, keep them, set up the parallel state."""

from megatron.core import parallel_state
from megatron.training.arguments import parse_args
from megatron.training.global_vars import set_args


def initialize_megatron(extra_args_provider=None, ignore_unknown_args=False):
    args = parse_args(extra_args_provider, ignore_unknown_args)
    set_args(args)
    parallel_state.initialize_model_parallel(args.tensor_model_parallel_size)
    return args
