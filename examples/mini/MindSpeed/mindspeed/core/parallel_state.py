"""Extra process groups MindSpeed adds to Megatron's parallel state."""

from functools import wraps

from megatron.core.calllog import record

_CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP = None


def initialize_model_parallel_wrapper(initialize_model_parallel):
    @wraps(initialize_model_parallel)
    def wrapper(*args, **kwargs):
        global _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP
        initialize_model_parallel(*args, **kwargs)
        record("mindspeed:initialize_model_parallel_wrapper")
        _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP = (0, 1)

    return wrapper


def destroy_model_parallel_wrapper(destroy_model_parallel):
    @wraps(destroy_model_parallel)
    def wrapper():
        global _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP
        destroy_model_parallel()
        record("mindspeed:destroy_model_parallel_wrapper")
        _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP = None

    return wrapper


def get_context_parallel_group_for_send_recv_overlap():
    """Megatron has no such function: the patch creates it in megatron.core.parallel_state."""
    record("mindspeed:get_context_parallel_group_for_send_recv_overlap")
    if _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP is None:
        raise RuntimeError("the context parallel group for send/recv overlap is not initialized")
    return _CONTEXT_PARALLEL_GROUP_FOR_SEND_RECV_OVERLAP
