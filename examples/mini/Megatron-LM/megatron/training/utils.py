"""Training helpers."""

import math

from megatron.core.calllog import record
from megatron.core.distributed import DistributedDataParallel


def unwrap_model(model, module_instances=(DistributedDataParallel,)):
    record("megatron:unwrap_model")
    return_list = True
    if not isinstance(model, list):
        model = [model]
        return_list = False
    unwrapped = []
    for model_module in model:
        while isinstance(model_module, module_instances):
            model_module = model_module.module
        unwrapped.append(model_module)
    return unwrapped if return_list else unwrapped[0]


def calc_params_l2_norm(model):
    record("megatron:calc_params_l2_norm")
    total = 0.0
    for chunk in unwrap_model(model):
        for weight in chunk.parameters():
            total += sum(w * w for row in weight for w in row)
    return math.sqrt(total)


def print_rank_0(message):
    print(message, flush=True)
