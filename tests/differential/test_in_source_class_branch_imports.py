"""Classes replaced under conditions whose definition needs their own module (a base class defined there, a library
only their branch uses): the class stays in its module and its branch imports it, where importing that module while
the target's loads cannot come back to it. Compared with runtime patching in every way a run may use the tree, for
every condition value."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, compare, strategies

KEPT_EXPERTS = """
from megatron.calls import LOG


class Attention:
    def attend(self, x):
        LOG.append("megatron.Attention.attend")
        return x


class Norm:
    def norm(self, x):
        return x


class Pump:
    def go(self):
        return "megatron pump"
"""

# the patch class's base comes from its own module: only importing that module gives it
KEPT_ATTENTION = """
from megatron.calls import LOG


class DotProductAttention:
    def attend(self, x):
        LOG.append("mindspeed.DotProductAttention.attend")
        if x < 0:
            raise ValueError("negative")
        return x + 100


class NpuAttention(DotProductAttention):
    \"\"\"Attention on the NPU.\"\"\"
"""

# its base comes from a library Megatron does not import (torch_npu, say): imported only where it is chosen
KEPT_NORM = """
import npu_lib


class NpuNorm(npu_lib.Fused):
    pass
"""

# importing it imports the target's module: importing it there while the target loads is a cycle
KEPT_PUMP = """
from megatron.core import kept_layer


class Impl:
    def go(self):
        return "npu pump " + kept_layer.NAME


class NpuPump(Impl):
    pass
"""

KEPT_SCENARIO = """
from megatron.calls import LOG, attempt


def run():
    from megatron.core import kept, kept_layer
    attention = kept.Attention()
    return [
        attention.attend(1), attempt(attention.attend, -1), type(attention).__name__, kept.Attention.__doc__,
        kept.Norm().norm(2), type(kept.Norm()).__name__, kept.Pump().go(), kept_layer.make().attend(5),
        list(LOG),
    ]
"""

KEPT_TARGETS = {
    "megatron.core.kept.Attention": [
        {"patch_import": "mindspeed.attention.NpuAttention", "condition": ["args.fp8"]},
    ],
    "megatron.core.kept.Norm": [{"patch_import": "mindspeed.norm.NpuNorm", "condition": ["args.gmm"]}],
    "megatron.core.kept.Pump": [{"patch_import": "mindspeed.pump.NpuPump", "condition": ["args.gmm"]}],
}


def _kept_scenario(**extra) -> Scenario:
    return Scenario(
        "classes under conditions that stay in their modules",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/kept.py": KEPT_EXPERTS,
            "Megatron-LM/megatron/core/kept_layer.py": (
                "from megatron.core.kept import Attention\n\nNAME = 'layer'\n\n\ndef make():\n"
                "    return Attention()\n"
            ),
            "MindSpeed/mindspeed/attention.py": KEPT_ATTENTION,
            "MindSpeed/mindspeed/norm.py": KEPT_NORM,
            "MindSpeed/mindspeed/pump.py": KEPT_PUMP,
            "MindSpeed/npu_lib.py": "class Fused:\n    def norm(self, x):\n        return -x\n",
            "MindSpeed-LLM/scenario.py": KEPT_SCENARIO,
        },
        KEPT_TARGETS,
        **extra,
    )


def test_a_class_whose_definition_needs_its_own_module_is_imported_by_its_branch(tmp_path):
    """MindSpeed 26.1.0's TE classes derive from classes of their own modules (which import torch_npu): defined in
    Megatron's module whatever the conditions say, they would import those modules where the condition fails.
    The branch imports the class instead, where importing its module cannot come back to the target's."""
    outcomes = compare(tmp_path, _kept_scenario())
    chosen = strategies(tmp_path / "fused")
    assert chosen["megatron.core.kept.Attention#0"][0] == "in-source"
    assert chosen["megatron.core.kept.Norm#0"][0] == "in-source"
    pump = chosen["megatron.core.kept.Pump#0"]
    assert pump[0] == "deferred" and "imports megatron.core.kept: a cycle" in pump[1]
    assert len({json.dumps(o["result"]) for o in outcomes}) > 2
    kept = (tmp_path / "fused/Megatron-LM/megatron/core/kept.py").read_text()
    assert "if _patchmerge.adaptation_args().fp8:\n    from mindspeed.attention import NpuAttention as Attention\n" \
        in kept
    assert "if _patchmerge.adaptation_args().gmm:\n    from mindspeed.norm import NpuNorm as Norm\n" in kept
    assert "import npu_lib" not in kept and "class NpuAttention" not in kept
    attention = (tmp_path / "fused/MindSpeed/mindspeed/attention.py").read_text()
    assert "class NpuAttention(DotProductAttention):" in attention  # one definition, where it was
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    notes = {p["id"]: " ".join(p["notes"]) for p in report["patches"]}
    assert "NpuAttention stays in mindspeed.attention, which the branch imports" in notes[
        "megatron.core.kept.Attention#0"]


def test_a_class_its_branch_imports_with_the_2_2_0_semantics_too(tmp_path):
    compare(tmp_path, _kept_scenario(semantics="2.2.0"))


# the package's __init__ imports the target before it binds what the patch module reads: while the target loads,
# importing the patch module would read a name of a package still running
PARTIAL_PACKAGE_ATTENTION = """
from megatron.core import SCALE
from megatron.calls import LOG


class DotProductAttention:
    def attend(self, x):
        LOG.append("mindspeed.DotProductAttention.attend")
        return x * SCALE


class NpuAttention(DotProductAttention):
    pass
"""


def test_a_branch_does_not_import_what_reads_a_package_still_running(tmp_path):
    scenario = Scenario(
        "a package's __init__ imports the target before it binds what the patch module reads",
        {
            "Megatron-LM/megatron/core/__init__.py": "from megatron.core.kept import Attention\n\nSCALE = 3\n",
            "Megatron-LM/megatron/core/kept.py": KEPT_EXPERTS,
            "MindSpeed/mindspeed/attention.py": PARTIAL_PACKAGE_ATTENTION,
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from megatron.core import kept\n"
                "    return [kept.Attention().attend(2), type(kept.Attention()).__name__]\n"
            ),
        },
        {"megatron.core.kept.Attention": [
            {"patch_import": "mindspeed.attention.NpuAttention", "condition": ["args.fp8"]}]},
    )
    compare(tmp_path, scenario)
    strategy, why = strategies(tmp_path / "fused")["megatron.core.kept.Attention#0"]
    assert strategy == "deferred" and "importing mindspeed.attention in the branch can fail there" in why


BACK_IMPORTED_ATTENTION = KEPT_ATTENTION + """

def helper(x):
    return x * 7
"""

# imported first, it imports the target at its top and the patch module at its bottom, below its own helper
ALPHA = """
from megatron.core.kept import Attention


def helper(x):
    return -x


import mindspeed.attention as ma  # noqa: E402
"""


def test_a_back_import_does_not_close_a_cycle_through_a_branch_import(tmp_path):
    scenario = Scenario(
        "the patch module takes a moved def back from a module that imports the target, which imports it",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/kept.py": KEPT_EXPERTS,
            "Megatron-LM/megatron/core/alpha.py": ALPHA,
            "MindSpeed/mindspeed/attention.py": BACK_IMPORTED_ATTENTION,
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from megatron.core import alpha, kept\n    import mindspeed.attention as ma\n"
                "    return [kept.Attention().attend(2), type(kept.Attention()).__name__, alpha.helper(3), "
                "ma.helper(1)]\n"
            ),
        },
        {
            "megatron.core.kept.Attention": [
                {"patch_import": "mindspeed.attention.NpuAttention", "condition": ["args.fp8"]}],
            "megatron.core.alpha.helper": [{"patch_import": "mindspeed.attention.helper"}],
        },
    )
    compare(tmp_path, scenario)
    chosen = strategies(tmp_path / "fused")
    assert "deferred" in {chosen["megatron.core.kept.Attention#0"][0], chosen["megatron.core.alpha.helper#0"][0]}
