"""Module values replaced by classes, and defs the module's own code calls as it loads. A new name given a class
(the patch creates it) is fused in source: the class moves to the end of the module and binds the name there.
So is a def that module-level code calls at import, replaced outright: the module keeps Megatron's def for that
call and rebinds the name at its end, as the runtime does once the module is imported. So is a name bound by
an import from a library (`FastNormFN` where the import may fail), every module holding it by itself being a
target of the same patch. A name the module imports from the tree stays deferred (the defining module holds it
too, and the runtime rebinds it there as well), and so does one whose value is computed (which modules hold
the same object cannot be read from source); test_in_source_bound_values has more. Compared with runtime
patching in every way a run may use the tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from patchmerge.cli import main
from tests.differential.harness import Scenario, build, compare

NORMS = """
from megatron.calls import LOG


class TENorm:
    def __init__(self, size):
        LOG.append("megatron.TENorm")
        self.size = size

    def describe(self):
        return f"te:{self.size}"
"""

BLOCK = """
from megatron.calls import LOG
from megatron.core.norms import TENorm

try:
    from fastnorm_missing_package import FastNormFN
    HAVE_FAST = True
except ImportError:
    HAVE_FAST = False

LayerNormImpl = TENorm  # read at import: the runtime patches after this line has run


def grouped_available():
    return False


ops = object() if grouped_available() else None
AVAILABLE_AT_IMPORT = grouped_available()


def build(size):
    return TENorm(size).describe()


def fast(x):
    return FastNormFN.apply(x)


def gmm(x):
    return ops.gmm(x) if ops is not None else None


def make(x):
    return NewFunction.apply(x)
"""

LEGACY = """
try:
    from fastnorm_missing_package import FastNormFN
except ImportError:
    pass


def fast(x):
    return FastNormFN.apply(x)
"""

PATCHES = """
from megatron.calls import LOG

SCALE = 3


class PTNorm:
    \"\"\"MindSpeed-LLM's norm.\"\"\"

    def __init__(self, size):
        LOG.append("llm.PTNorm")
        self.size = size * SCALE

    def describe(self):
        return f"pt:{self.size}"


class FastNormFN:
    @staticmethod
    def apply(x):
        LOG.append("mindspeed.FastNormFN")
        return x + 1


class Ops:
    @staticmethod
    def gmm(x):
        LOG.append("mindspeed.Ops.gmm")
        return x * 10


class NewFunction:
    @staticmethod
    def apply(x):
        return -x


def grouped_available():
    LOG.append("mindspeed.grouped_available")
    return True
"""

SCENARIO = """
from megatron.calls import attempt


def run():
    from megatron.core import block, legacy, norms as megatron_norms
    from mindspeed import norms
    return [megatron_norms.TENorm.__name__,
        attempt(block.build, 2), attempt(block.fast, 1), attempt(legacy.fast, 2), attempt(block.gmm, 3),
        attempt(block.make, 4), block.LayerNormImpl.__name__, block.HAVE_FAST,
        getattr(block, "TENorm", None) is getattr(norms, "PTNorm", None),
        getattr(block, "FastNormFN", None) is getattr(legacy, "FastNormFN", None),
        getattr(block, "FastNormFN", None) is getattr(norms, "FastNormFN", None),
        type(getattr(block, "ops", None)).__name__, block.grouped_available(), block.AVAILABLE_AT_IMPORT,
    ]
"""

TARGETS = {
    "megatron.core.block.TENorm": [{"patch_import": "mindspeed.norms.PTNorm"}],
    "megatron.core.block.FastNormFN": [{"patch_import": "mindspeed.norms.FastNormFN"}],
    "megatron.core.legacy.FastNormFN": [{"patch_import": "mindspeed.norms.FastNormFN"}],
    "megatron.core.block.ops": [{"patch_import": "mindspeed.norms.Ops"}],
    "megatron.core.block.NewFunction": [{"patch_import": "mindspeed.norms.NewFunction"}],
    # module-level code of block calls it at import (the original, then): the replacement binds after that
    "megatron.core.block.grouped_available": [{"patch_import": "mindspeed.norms.grouped_available"}],
}


def _scenario() -> Scenario:
    return Scenario(
        "module values replaced by classes",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/norms.py": NORMS,
            "Megatron-LM/megatron/core/block.py": BLOCK,
            "Megatron-LM/megatron/core/legacy.py": LEGACY,
            "MindSpeed/mindspeed/norms.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        dict(TARGETS),  # a copy: a test adds a target to its own
    )


def test_module_values_replaced_by_classes_run_like_the_runtime(tmp_path):
    (outcome,) = compare(tmp_path, _scenario())
    assert outcome["result"].startswith("['PTNorm', 'pt:6'")  # the defining module's TENorm is rebound too
    assert "'TENorm'" in outcome["result"]  # LayerNormImpl, captured at import, kept the original
    assert outcome["result"].endswith("True, False]")  # called at import, it was Megatron's; later, MindSpeed's
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    strategies = {p["id"]: p["strategy"] for p in report["patches"]}
    assert strategies == {
        "megatron.core.block.TENorm#0": "deferred",
        "megatron.core.block.FastNormFN#0": "in-source",
        "megatron.core.legacy.FastNormFN#0": "in-source",
        "megatron.core.block.ops#0": "deferred",
        "megatron.core.block.NewFunction#0": "in-source",
        "megatron.core.block.grouped_available#0": "in-source",
    }


def test_the_new_class_and_the_rebound_def_land_at_the_end_of_the_module(tmp_path):
    pristine, fused = build(tmp_path, _scenario())
    block = (fused / "Megatron-LM/megatron/core/block.py").read_text()
    tail = block[block.index("def make(x):"):]
    assert "class NewFunction:" in tail
    assert "# patchmerge: megatron.core.block.NewFunction replaced by mindspeed.norms.NewFunction (" in tail
    assert "def grouped_available():\n    return False" in block  # Megatron's, for the call at import
    assert tail.count("def grouped_available():") == 1 and 'LOG.append("mindspeed.grouped_available")' in tail
    norms = (fused / "MindSpeed/mindspeed/norms.py").read_text()
    assert "from megatron.core.block import NewFunction" in norms and "class NewFunction" not in norms


def test_a_class_whose_members_are_targets_too_stays_where_their_fusion_finds_it(tmp_path):
    """`NewFunction.apply` is itself patched: `NewFunction` stays in MindSpeed (deferred), so the fused tree,
    merged again, still finds every fused patch where it put it."""
    wrappers = "from megatron.calls import LOG\n\n\ndef apply_wrapper(fn):\n    def inner(x):\n" \
               "        LOG.append('apply_wrapper>')\n        return fn(x) + 1\n    return inner\n"
    scenario = _scenario()
    scenario.files["MindSpeed/mindspeed/wrappers.py"] = wrappers
    scenario.patches["mindspeed.norms.NewFunction.apply"] = [{"patch_import": "mindspeed.wrappers.apply_wrapper"}]
    (outcome,) = compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    patches = {p["id"]: p for p in report["patches"]}
    new = patches["megatron.core.block.NewFunction#0"]
    assert new["strategy"] == "deferred"
    assert "members of mindspeed.norms.NewFunction are targets too" in new["strategy_reason"]
    assert patches["megatron.core.block.grouped_available#0"]["strategy"] == "in-source"
    assert main(["merge", str(tmp_path / "fused"), "--profile", str(tmp_path / "profile.toml")]) == 0
    again = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["outcome"] for p in again["patches"]} == {"already-fused"}


def test_a_move_whose_back_import_could_fail_where_it_runs_falls_back(tmp_path):
    """Moved into `megatron.legacy.norm` (a new name there), the class would be imported back by the patch
    module, which never imported `megatron.legacy`: imported first, that package runs `megatron.training`, whose
    utils read a name `megatron.legacy` binds later. The merge sees it from source and keeps the binding
    deferred; the fused tree imports in every order, as the runtime's does."""
    scenario = Scenario(
        "back-import through a half-initialised package",
        {
            "Megatron-LM/megatron/__init__.py": "",
            "Megatron-LM/megatron/legacy/__init__.py": "from .model import Model\nfrom .fp16 import Float16Module\n",
            "Megatron-LM/megatron/legacy/model.py": "import megatron.training\n\n\nclass Model:\n    pass\n",
            "Megatron-LM/megatron/legacy/fp16.py": "class Float16Module:\n    pass\n",
            "Megatron-LM/megatron/legacy/norm.py": "def norm(x):\n    return FusedNorm.apply(x)  # new\n",
            "Megatron-LM/megatron/training/__init__.py": "from .utils import helper\n",
            "Megatron-LM/megatron/training/utils.py": (
                "from megatron.legacy import Float16Module\n\n\ndef helper():\n    return Float16Module\n"
            ),
            "MindSpeed/mindspeed/norm.py": (
                "class FusedNorm:\n    @staticmethod\n    def apply(x):\n        return x * 2\n"
            ),
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from mindspeed import norm as patches\n    from megatron.legacy import norm\n"
                "    return [norm.norm(3), norm.FusedNorm is patches.FusedNorm]\n"
            ),
        },
        {"megatron.legacy.norm.FusedNorm": [{"patch_import": "mindspeed.norm.FusedNorm"}]},
    )
    (outcome,) = compare(tmp_path, scenario)
    assert outcome["result"] == "[6, True]"
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    (patch,) = report["patches"]
    assert patch["strategy"] == "deferred"
    assert "runs `from megatron.legacy import Float16Module` while megatron.legacy is still being imported" in (
        patch["strategy_reason"]
    )
    # the patch module imported first, in a fresh interpreter (the harness sets Megatron's args first)
    roots = [tmp_path / "fused" / r for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, roots)), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-c", "import mindspeed.norm"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_moved_class_reads_as_written_no_blank_line_carries_indentation(tmp_path):
    _, fused = build(tmp_path, _scenario())
    block = (fused / "Megatron-LM/megatron/core/block.py").read_text()
    assert "class NewFunction:\n    if " in block  # the probe, then the methods one blank line below
    assert not [line for line in block.splitlines() if line and not line.strip()]
