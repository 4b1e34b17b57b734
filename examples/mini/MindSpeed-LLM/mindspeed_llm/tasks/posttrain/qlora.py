"""QLoRA: weights stored on a 1/8 grid (a 4-bit stand-in), dequantized by the grouped matmul."""

from functools import wraps

from megatron.core.calllog import record
from megatron.core.distributed import DistributedDataParallel
from megatron.core.utils import matvec


def _quantize(weight):
    return [[round(w * 8) / 8 for w in row] for row in weight]


def get_model(model_provider_func, wrap_with_ddp=True):
    record("mindspeed_llm:qlora.get_model")
    model = model_provider_func(pre_process=True, post_process=True)
    for weight in model.parameters():
        weight[:] = _quantize(weight)
    return [DistributedDataParallel(model)] if wrap_with_ddp else [model]


def parallel_linear_init_wrapper(fn):
    @wraps(fn)
    def wrapper(self, *args, **kwargs):
        fn(self, *args, **kwargs)
        record("mindspeed_llm:parallel_linear_init_wrapper")
        self.weight = _quantize([[w * 1.5 for w in row] for row in self.weight])  # LoRA scaling folded in

    return wrapper


def grouped_gemm_util_ops_gmm(a, b, batch_sizes, trans_b=False):
    """Replaces MindSpeed's Ops.gmm: dequantize (scale 1.0625) then multiply."""
    record("mindspeed_llm:grouped_gemm_util_ops_gmm")
    out, start = [], 0
    for weight, count in zip(b, batch_sizes, strict=False):
        dequantized = [[w * 1.0625 for w in row] for row in weight]
        out.extend(matvec(dequantized, token) for token in a[start : start + count])
        start += count
    return out
