"""A second replacement on one Patch without force_patch: the runtime's adaptation raises
`RuntimeError('the patch of NAME exist !')` for the condition values where both registrations happen, and the
fused tree raises the same error as its module is imported (in source and deferred alike); a flattened file,
which cannot say which registrations share a Patch, lets the later one win (SPEC section 1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from patchmerge.cli import main
from tests.differential.harness import Scenario, build, compare
from tests.trees import profile_text

OPS = """
from megatron.calls import LOG


def scale(x):
    LOG.append("megatron.scale")
    return x * 2


class Layer:
    def forward(self, x):
        LOG.append("megatron.forward")
        return x + 1
"""

PATCHES = """
from megatron.calls import LOG


def scale_fast(x):
    LOG.append("mindspeed.scale_fast")
    return x * 3


def scale_exact(x):
    LOG.append("mindspeed.scale_exact")
    return x * 4


def scale_forced(x):
    LOG.append("mindspeed.scale_forced")
    return x * 5


def forward(self, x):
    LOG.append("mindspeed.forward")
    return x + 10


def forward_tp(self, x):
    LOG.append("mindspeed.forward_tp")
    return x + 20
"""

SCENARIO = """
from megatron.core.ops import Layer, scale


def run():
    return scale(2), Layer().forward(1)
"""

FILES = {
    "Megatron-LM/megatron/core/__init__.py": "",
    "Megatron-LM/megatron/core/ops.py": OPS,
    "MindSpeed/mindspeed/routes.py": PATCHES,
    "MindSpeed-LLM/scenario.py": SCENARIO,
}


def _records(phase_and_collection: dict[str, object]) -> dict[str, list[dict[str, object]]]:
    return {
        "megatron.core.ops.scale": [
            {"patch_import": "mindspeed.routes.scale_fast", "condition": ["args.fast"], **phase_and_collection},
            {"patch_import": "mindspeed.routes.scale_exact", "condition": ["args.exact"], **phase_and_collection},
            {"patch_import": "mindspeed.routes.scale_forced", "condition": ["args.forced"], "force_patch": True,
             **phase_and_collection},
        ],
        "megatron.core.ops.Layer.forward": [
            {"patch_import": "mindspeed.routes.forward", **phase_and_collection},
            {"patch_import": "mindspeed.routes.forward_tp", "condition": ["args.tp"], **phase_and_collection},
        ],
    }


def _report(fused: Path) -> dict[str, dict[str, object]]:
    report = json.loads((fused / ".patchmerge" / "report" / "report.json").read_text())
    return {p["id"]: p for p in report["patches"]}


def _errors(outcomes: list[dict[str, object]]) -> set[str]:
    return {o["error"][1] for o in outcomes if o["error"]}  # type: ignore[index]


def test_a_collections_second_replacement_raises_where_both_hold_in_source(tmp_path: Path) -> None:
    outcomes = compare(tmp_path, Scenario("clash", FILES, _records({"phase": 0, "collection": "MegatronAdaptation"})))
    assert _errors(outcomes) == {"the patch of scale exist !", "the patch of forward exist !"}
    # fast and exact together raise; forced overrides either without raising
    # of 16 combinations, tp raises (8) and so do fast with exact (2 more): forced comes after the raise
    assert sum(1 for o in outcomes if not o["error"]) == 6
    report = _report(tmp_path / "fused")
    assert {p["strategy"] for p in report.values()} == {"in-source"}
    assert "raises RuntimeError('the patch of scale exist !')" in " ".join(report["megatron.core.ops.scale#1"]["notes"])
    fused = (tmp_path / "fused" / "Megatron-LM" / "megatron" / "core" / "ops.py").read_text()
    assert "raise RuntimeError('the patch of forward exist !')" in fused


def test_a_conditional_replacement_before_an_unconditional_one_never_wins_in_source(tmp_path: Path) -> None:
    """The later, unconditional replacement wins; without force_patch the runtime raises where the earlier
    one's condition holds, with it that one is simply overridden."""
    for forced in (False, True):
        records = {"megatron.core.ops.Layer.forward": [
            {"patch_import": "mindspeed.routes.forward_tp", "condition": ["args.tp"], "collection": "M"},
            {"patch_import": "mindspeed.routes.forward", "collection": "M", "force_patch": forced},
        ]}
        base = tmp_path / str(forced)
        outcomes = compare(base, Scenario("overridden", FILES, records))
        assert _errors(outcomes) == (set() if forced else {"the patch of forward exist !"})
        assert all("mindspeed.forward_tp" not in o["calls"] for o in outcomes)
        assert {p["strategy"] for p in _report(base / "fused").values()} == {"in-source"}
        fused = (base / "fused" / "Megatron-LM" / "megatron" / "core" / "ops.py").read_text()
        assert "mindspeed.routes.forward, registered later, always wins" in fused


def test_a_collection_across_phases_raises_in_the_deferred_strategy_too(tmp_path: Path) -> None:
    patches = {
        "megatron.core.ops.scale": [
            {"patch_import": "mindspeed.routes.scale_fast", "condition": ["args.fast"], "phase": 0,
             "collection": "M"},
            {"patch_import": "mindspeed.routes.scale_exact", "condition": ["args.exact"], "phase": 1,
             "collection": "M"},
        ],
    }
    outcomes = compare(tmp_path, Scenario("clash-phases", FILES, patches))
    assert _errors(outcomes) == {"the patch of scale exist !"}
    assert {p["strategy"] for p in _report(tmp_path / "fused").values()} == {"deferred"}


def test_each_phase_of_no_collection_is_a_patch_of_its_own(tmp_path: Path) -> None:
    patches = {
        "megatron.core.ops.scale": [
            {"patch_import": "mindspeed.routes.scale_fast", "condition": ["args.fast"], "phase": 0},
            {"patch_import": "mindspeed.routes.scale_exact", "condition": ["args.exact"], "phase": 1},
        ],
    }
    assert not _errors(compare(tmp_path, Scenario("phases", FILES, patches)))


def test_a_flattened_file_lets_the_later_replacement_win(tmp_path: Path) -> None:
    outcomes = compare(tmp_path, Scenario("flat", FILES, _records({})))
    assert not _errors(outcomes)
    notes = " ".join(_report(tmp_path / "fused")["megatron.core.ops.scale#1"]["notes"])
    assert "the fusion lets the later registration win" in notes


def test_without_the_adaptors_parser_the_binding_raises_as_it_settles(tmp_path: Path) -> None:
    # no adaptor parser in the profile: the conditions read the args accessor once the args are set, so the
    # raise comes when the binding settles (its first use), the earliest the fused tree can decide it
    pristine, _ = build(tmp_path, Scenario("late", FILES, _records({"phase": 0, "collection": "M"})))
    root = tmp_path / "late"
    shutil.copytree(pristine, root)
    (tmp_path / "late.toml").write_text(profile_text("late", ["MindSpeed-LLM/mindspeed_llm/adaptor.py"]))
    assert main(["merge", str(root), "--profile", str(tmp_path / "late.toml")]) == 0
    assert {p["strategy"] for p in _report(root).values()} == {"deferred"}
    probe = (
        "import argparse, sys\n"
        "from megatron.training.global_vars import set_args\n"
        "set_args(argparse.Namespace(fast=True, exact='exact' in sys.argv, forced=False, tp=False))\n"
        "from megatron.calls import attempt\n"
        "from megatron.core.ops import scale\n"
        "print(attempt(scale, 2))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(root / r) for r in ("Megatron-LM", "MindSpeed")))
    runs = [subprocess.run([sys.executable, "-c", probe, *flags], env=env, capture_output=True, text=True,
                           check=True).stdout.strip() for flags in ([], ["exact"])]
    assert runs == ["6", "('raised', 'RuntimeError', 'the patch of scale exist !')"]


def test_a_def_its_module_calls_as_it_loads_keeps_the_raise_of_an_overridden_replacement(tmp_path: Path) -> None:
    """Replaced outright, such a def is rebound at the end of its module; with an overridden replacement whose
    registration makes the runtime raise, that shape cannot write the raise: the binding falls back."""
    files = {**FILES, "Megatron-LM/megatron/core/ops.py": OPS + "\n\nDEFAULT = scale\n"}
    records = {"megatron.core.ops.scale": [
        {"patch_import": "mindspeed.routes.scale_fast", "condition": ["args.fast"], "collection": "M"},
        {"patch_import": "mindspeed.routes.scale_exact", "collection": "M"},
    ]}
    outcomes = compare(tmp_path, Scenario("overridden, called as the module loads", files, records))
    assert _errors(outcomes) == {"the patch of scale exist !"}
    assert _report(tmp_path / "fused")["megatron.core.ops.scale#0"]["strategy"] == "deferred"


UTILS = """
from megatron.calls import LOG


def print_rank_0(message):
    LOG.append("print_rank_0 " + message)
    return 0


def print_rank_last(message):
    LOG.append("print_rank_last " + message)
    return -1
"""

ONE_PATCH = {"phase": 1, "collection": "mindspeed.patch_utils.MindSpeedPatchesManager"}

LAST_WRAPPER = """
from megatron.calls import LOG


def print_rank_last_wrapper(fn):
    def wrapper(message):
        LOG.append("print_rank_last_wrapper")
        return fn(message) + 10
    return wrapper
"""


def test_two_branches_naming_one_def_of_the_module_share_it_and_raise_where_both_hold(tmp_path):
    """MindSpeed-LLM 26.1.0 routes `print_rank_last` to Megatron's own `print_rank_0` under two conditions (two
    features), with a conditional wrapper between: one def serves both branches, and where both hold the
    runtime raises."""
    scenario = Scenario(
        "two branches, one def of the target's module",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/utils.py": UTILS,
            "MindSpeed-LLM/mindspeed_llm/last.py": LAST_WRAPPER,
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from megatron.core import utils\n"
                "    return [utils.print_rank_last('x'), utils.print_rank_last.__name__, utils.print_rank_0('y')]\n"
            ),
        },
        {
            "megatron.core.utils.print_rank_last": [
                {"patch_import": "megatron.core.utils.print_rank_0", "condition": ["args.dualpipe"], **ONE_PATCH},
                {"patch_import": "mindspeed_llm.last.print_rank_last_wrapper", "condition": ["args.elastic"],
                 **ONE_PATCH},
                {"patch_import": "megatron.core.utils.print_rank_0", "condition": ["args.layerwise"], **ONE_PATCH},
            ],
        },
    )
    outcomes = compare(tmp_path, scenario)
    assert _errors(outcomes) == {"the patch of print_rank_last exist !"}
    assert "[10, 'wrapper', 0]" in {o["result"] for o in outcomes}
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/utils.py").read_text()
    assert fused.count("def print_rank_0(") == 1 and fused.count("    print_rank_last = print_rank_0\n") == 2
