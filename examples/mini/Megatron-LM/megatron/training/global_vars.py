"""The parsed arguments of the process."""

_GLOBAL_ARGS = None


def get_args():
    if _GLOBAL_ARGS is None:
        raise RuntimeError("args are not initialized: call initialize_megatron() first")
    return _GLOBAL_ARGS


def set_args(args):
    global _GLOBAL_ARGS
    _GLOBAL_ARGS = args
