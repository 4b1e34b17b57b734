"""Model-parallel state. The example runs in one process, so every group holds one rank."""

from megatron.core.calllog import record

_TENSOR_MODEL_PARALLEL_WORLD_SIZE = None


def initialize_model_parallel(tensor_model_parallel_size=1):
    global _TENSOR_MODEL_PARALLEL_WORLD_SIZE
    record("megatron:initialize_model_parallel")
    _TENSOR_MODEL_PARALLEL_WORLD_SIZE = tensor_model_parallel_size


def model_parallel_is_initialized():
    return _TENSOR_MODEL_PARALLEL_WORLD_SIZE is not None


def get_tensor_model_parallel_world_size():
    return _TENSOR_MODEL_PARALLEL_WORLD_SIZE or 1


def destroy_model_parallel():
    global _TENSOR_MODEL_PARALLEL_WORLD_SIZE
    record("megatron:destroy_model_parallel")
    _TENSOR_MODEL_PARALLEL_WORLD_SIZE = None
