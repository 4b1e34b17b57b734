"""TorchScript reads fused code as the source it is: a scripted function that calls a fused staticmethod
compiles and runs in the fused tree wherever it does with runtime patching, and fails where that fails
(Megatron's `jit_fuser` is `torch.jit.script`, and `fused_cross_entropy` calls
`VocabParallelCrossEntropy.calculate_logits_max`; a probe in fused code sits where TorchScript does not look).

Needs CPU torch (`pip install torch==2.13.0`; the nox tests session installs it)."""

from __future__ import annotations

import pytest

from tests.differential.harness import Scenario, compare

pytest.importorskip("torch", reason="TorchScript needs torch: pip install torch==2.13.0 (the nox tests session does)")

CROSS_ENTROPY = """
import torch

from megatron.calls import LOG


class VocabParallelCrossEntropy:
    @staticmethod
    def calculate_logits_max(vocab_parallel_logits: torch.Tensor) -> torch.Tensor:
        vocab_parallel_logits = vocab_parallel_logits.float()
        return torch.max(vocab_parallel_logits, dim=-1)[0]

    @staticmethod
    def calculate_predicted_logits(logits: torch.Tensor, logits_max: torch.Tensor) -> torch.Tensor:
        return logits - logits_max.unsqueeze(dim=-1)
"""

FUSED_CROSS_ENTROPY = """
import torch

from megatron.core.cross_entropy import VocabParallelCrossEntropy

jit_fuser = torch.jit.script


@jit_fuser
def calculate_logits_max(vocab_parallel_logits: torch.Tensor) -> torch.Tensor:
    return VocabParallelCrossEntropy.calculate_logits_max(vocab_parallel_logits)


@jit_fuser
def calculate_predicted_logits(logits: torch.Tensor, logits_max: torch.Tensor) -> torch.Tensor:
    return VocabParallelCrossEntropy.calculate_predicted_logits(logits, logits_max)
"""

PATCHES = """
import torch


def calculate_logits_max(vocab_parallel_logits: torch.Tensor) -> torch.Tensor:
    return torch.max(vocab_parallel_logits.float() * 2, dim=-1)[0]


def calculate_predicted_logits_wrapper(fn):
    def wrapper(logits: torch.Tensor, logits_max: torch.Tensor) -> torch.Tensor:
        return fn(logits, logits_max) + 1
    return wrapper
"""

SCENARIO = """
import re


def run():
    try:
        return compiled()
    except RuntimeError as exc:  # TorchScript's message names files and addresses: keep what it says is wrong
        first = next(line for line in str(exc).splitlines() if line.strip())
        return ["RuntimeError", re.sub(r" \\(of Python compilation unit at: 0x[0-9a-f]+\\)", "", first)]


def compiled():
    import torch
    from megatron.core import cross_entropy, fused_cross_entropy
    logits = torch.tensor([[1.0, 5.0, 2.0], [3.0, 0.5, 4.0]])
    logits_max = fused_cross_entropy.calculate_logits_max(logits)
    predicted = fused_cross_entropy.calculate_predicted_logits(logits, logits_max)
    kind = type(cross_entropy.VocabParallelCrossEntropy.__dict__["calculate_logits_max"]).__name__
    return [logits_max.tolist(), predicted.tolist(), kind]
"""


RUNTIME_FAILS = repr([
    "RuntimeError",
    "'__torch__.megatron.core.cross_entropy.VocabParallelCrossEntropy' object has no attribute or method 'float'. "
    "Did you forget to initialize an attribute in __init__()?:",
])
FUSED_COMPILES = repr([[10.0, 8.0], [[-8.0, -4.0, -7.0], [-4.0, -6.5, -3.0]], "staticmethod"])


def test_a_scripted_function_calling_a_fused_staticmethod_compiles_as_with_runtime_patching(tmp_path):
    """Where the runtime binds a plain function over a staticmethod, TorchScript compiling the class after the
    patch fails (MindSpeed's own adaptor compiles `fused_cross_entropy` before it patches, so it works there). In
    source the replacement stays a staticmethod: it compiles, and the report notes the one difference."""
    scenario = Scenario(
        "torchscript",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/cross_entropy.py": CROSS_ENTROPY,
            "Megatron-LM/megatron/core/fused_cross_entropy.py": FUSED_CROSS_ENTROPY,
            "MindSpeed/mindspeed/cross_entropy.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        {
            "megatron.core.cross_entropy.VocabParallelCrossEntropy.calculate_logits_max": [
                {"patch_import": "mindspeed.cross_entropy.calculate_logits_max", "condition": ["args.fast"]}
            ],
            "megatron.core.cross_entropy.VocabParallelCrossEntropy.calculate_predicted_logits": [
                {"patch_import": "mindspeed.cross_entropy.calculate_predicted_logits_wrapper"}
            ],
        },
        noted=(
            (
                "megatron.core.cross_entropy.VocabParallelCrossEntropy.calculate_logits_max#0",
                "fused as a staticmethod",
                RUNTIME_FAILS,
                FUSED_COMPILES,
            ),
        ),
    )
    unpatched, patched = compare(tmp_path, scenario)  # args.fast off, then on; each equal to the runtime
    # the wrapped staticmethod and the original compile as they do with runtime patching...
    assert "staticmethod" in unpatched["result"], unpatched
    # ...and where the runtime binds a plain function into the class, TorchScript fails after runtime patching
    assert patched["result"] == RUNTIME_FAILS


ACTIVATIONS = """
import torch.nn.functional as F


def gelu(x):
    return F.gelu(x)
"""

FUSED_ACTIVATIONS = """
import torch

from megatron.core import activations

jit_fuser = torch.jit.script


@jit_fuser
def bias_gelu(bias: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return activations.gelu(bias + y)
"""

ACTIVATION_PATCHES = """
import torch.nn.functional as F


def gelu(x):
    return F.gelu(x) * 2
"""

ACTIVATION_SCENARIO = """
def run():
    import torch
    from megatron.core import fused_activations  # scripted as it is imported, before any eager call of gelu
    result = fused_activations.bias_gelu(torch.tensor([1.0, -1.0]), torch.tensor([1.0, 0.0]))
    return [round(value, 4) for value in result.tolist()]
"""


def test_a_module_that_imports_torch_without_binding_it_compiles_when_a_scripted_caller_is_imported(tmp_path):
    """`import torch.nn.functional as F` binds no `torch`: the probe still tests the helper's flag behind
    `torch.jit.is_scripting()` (the merge imports torch there), so a caller scripted at import compiles the fused
    definition as it compiles the patch with runtime patching."""
    scenario = Scenario(
        "torchscript from torch",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/activations.py": ACTIVATIONS,
            "Megatron-LM/megatron/core/fused_activations.py": FUSED_ACTIVATIONS,
            "MindSpeed/mindspeed/activations.py": ACTIVATION_PATCHES,
            "MindSpeed-LLM/scenario.py": ACTIVATION_SCENARIO,
        },
        {"megatron.core.activations.gelu": [
            {"patch_import": "mindspeed.activations.gelu", "condition": ["args.fast"]}
        ]},
    )
    unpatched, patched = compare(tmp_path, scenario)
    assert unpatched["result"] != patched["result"] and "Error" not in repr(patched["result"])
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/activations.py").read_text()
    assert "import torch\n" in fused and "and not torch.jit.is_scripting():" in fused
