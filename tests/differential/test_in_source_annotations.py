"""Moved code whose annotations name a class only the patch module gives (MindSpeed's own
`SelfAttentionSubmodules`, `LayerGraph`): importing it while Megatron's module loads would form a cycle, so the
annotation is written as a string naming that class by its full path, imported for type checkers only. Compared
with runtime patching in every way a run may use the tree, for every condition value; the one difference, the
annotation's value, is what the report notes."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, build, compare

OPS = """
from megatron.calls import LOG


class Graph:
    pass


class Layer:
    def __init__(self, n):
        self.n = n

    def forward(self, x, graph: Graph = None):
        LOG.append("megatron.forward")
        return x + self.n

    def backward(self, x):
        LOG.append("megatron.backward")
        return -x
"""

# the patch module imports Megatron's module and defines a class of the same name: moved code must name its own
PATCHES = """
from functools import wraps
from typing import Optional

from megatron.calls import LOG
from megatron.core.ops import Graph, Layer


class Graph:
    width = 7


def forward(self, x, graph: Optional[Graph] = None) -> Graph:
    LOG.append("mindspeed.forward")
    return x * self.n + (graph or Graph()).width


def backward_wrapper(fn):
    @wraps(fn)
    def wrapper(self, x, graph: Graph = None):
        LOG.append("backward_wrapper>")
        return fn(self, x) * 2
    return wrapper
"""

SCENARIO = """
import inspect


def run():
    from megatron.core import ops
    layer = ops.Layer(3)
    hints = inspect.signature(ops.Layer.forward).parameters["graph"].annotation
    return [layer.forward(2), layer.backward(5), ops.Layer.backward.__name__, repr(hints)]
"""

TARGETS = {
    "megatron.core.ops.Layer.forward": [{"patch_import": "mindspeed.patches.forward", "condition": ["args.fast"]}],
    "megatron.core.ops.Layer.backward": [{"patch_import": "mindspeed.patches.backward_wrapper"}],
}

# the repr of the annotation: the object at runtime, its string in the fused tree
RUNTIME_HINT = "'typing.Optional[mindspeed.patches.Graph]'"
FUSED_HINT = "\"'Optional[mindspeed.patches.Graph]'\""


def _scenario() -> Scenario:
    return Scenario(
        "annotations only the patch module gives",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed/mindspeed/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
        noted=(("megatron.core.ops.Layer.forward#0", "written as strings", RUNTIME_HINT, FUSED_HINT),),
    )


def test_annotations_the_patch_module_gives_are_strings_and_the_code_runs_like_the_runtime(tmp_path):
    outcomes = compare(tmp_path, _scenario())
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["id"]: p["strategy"] for p in report["patches"]} == {
        "megatron.core.ops.Layer.forward#0": "in-source",
        "megatron.core.ops.Layer.backward#0": "in-source",
    }
    assert any(RUNTIME_HINT in o["result"] for o in outcomes)


def test_the_string_names_the_class_by_its_path_for_type_checkers(tmp_path):
    pristine, fused = build(tmp_path, _scenario())
    ops = (fused / "Megatron-LM/megatron/core/ops.py").read_text()
    assert "if TYPE_CHECKING:  # what annotations written as strings name\n    import mindspeed.patches\n" in ops
    assert "graph: 'Optional[mindspeed.patches.Graph]' = None) -> 'mindspeed.patches.Graph':" in ops
    # the wrapper's inner def too: it is defined when the wrapper is applied, while ops loads
    assert "def wrapper(self, x, graph: 'mindspeed.patches.Graph' = None):" in ops
    assert "\nimport mindspeed" not in ops and "\nfrom mindspeed" not in ops
