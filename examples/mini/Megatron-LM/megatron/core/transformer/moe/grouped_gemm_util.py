"""Grouped GEMM kernels, when the grouped_gemm package is installed (it is not, on an NPU nor here)."""

try:
    import grouped_gemm
except ImportError:
    grouped_gemm = None


def grouped_gemm_is_available():
    return grouped_gemm is not None


ops = grouped_gemm.ops if grouped_gemm_is_available() else None
