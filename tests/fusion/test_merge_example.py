"""Differential proof on the bundled example: the fused tree, with no patch registered, runs exactly as the
pristine tree patched at runtime by the reference patcher, for every combination of condition values."""

from __future__ import annotations

import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from patchmerge.cli import main
from patchmerge.formats import json_format
from patchmerge.fusion.registrations import find_registrations
from tests.example_runs import EXAMPLE, PATCHES, flags_for, run_reference, run_script
from tests.reference.assignments import assignments, condition_domains

CALLS = ("MegatronAdaptation.register",)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".patchmerge" not in p.parts and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def fused(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fused") / "root"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    code = main(["merge", str(root), "--profile", "example"])
    assert code == 0
    return root


def test_merge_fuses_every_patch_and_reports(fused):
    report = json.loads((fused / ".patchmerge" / "report" / "report.json").read_text())
    assert report["patches_total"] == 39
    assert report["patches_fused"] == 39, [p for p in report["patches"] if p["outcome"] != "fused"]
    assert report["patches_failed"] == 0
    adaptor = Path("MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py")
    before = find_registrations((EXAMPLE / adaptor).read_text(), adaptor, "mindspeed_llm.tasks.megatron_adaptor", CALLS)
    after = find_registrations((fused / adaptor).read_text(), adaptor, "mindspeed_llm.tasks.megatron_adaptor", CALLS)
    assert len(before) == 39 and after == []


def test_fused_tree_runs_like_runtime_patching_for_every_condition_combination(fused):
    patches = json_format.parse(PATCHES.read_text(), PATCHES).patches
    domains = condition_domains(patches)
    domains["qlora"] = [False, True]

    def both(assignment):
        flags = flags_for(assignment)
        reference = run_reference(EXAMPLE, flags)
        fused_run = run_script(fused, flags, no_patches=True)
        return assignment, reference, fused_run

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(both, assignments(domains)))
    for assignment, reference, fused_run in results:
        assert reference.returncode == 0, f"{assignment}: {reference.stderr[-1500:]}"
        assert fused_run.returncode == 0, f"{assignment}: fused tree failed:\n{fused_run.stderr[-3000:]}"
        assert fused_run.stdout == reference.stdout, f"{assignment}: fused output differs"
    assert len({re.findall(r"loss: \S+", r[2].stdout)[-1] for r in results}) > 10


def test_adaptor_left_running_on_fused_tree_changes_nothing(fused):
    flags = ["--tp-2d", "--mode", "b", "--qlora", "--num-experts", "2"]
    with_adaptor = run_script(fused, flags, no_patches=False)
    without = run_script(fused, flags, no_patches=True)
    assert with_adaptor.returncode == 0, with_adaptor.stderr[-2000:]
    assert with_adaptor.stdout == without.stdout


def test_second_merge_reports_already_fused_and_changes_nothing(fused, capsys):
    before = snapshot(fused)
    assert main(["merge", str(fused), "--profile", "example"]) == 0
    assert snapshot(fused) == before
    report = json.loads((fused / ".patchmerge" / "report" / "report.json").read_text())
    assert report["patches_already_fused"] == 39


def test_dry_run_writes_nothing_and_undo_restores_byte_for_byte(tmp_path, capsys):
    root = tmp_path / "root"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    pristine = snapshot(root)
    assert main(["merge", str(root), "--profile", "example", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "+++ b/Megatron-LM/megatron/core/parallel_state.py" in out
    assert snapshot(root) == pristine and not (root / ".patchmerge").exists()
    assert main(["merge", str(root), "--profile", "example"]) == 0
    assert snapshot(root) != pristine
    assert main(["undo", str(root)]) == 0
    assert snapshot(root) == pristine


@pytest.fixture(scope="module")
def fused_collected(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("collected") / "root"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    assert main(["merge", str(root), "--profile", "example", "--collect"]) == 0
    return root


def test_tree_fused_from_collect_runs_like_the_adaptor_for_every_condition_combination(fused_collected):
    # collect -> merge end to end, against the real thing: the example's own adaptor patching at run time
    # (its patch_utils has MindSpeed 2.1.0's semantics), phases and collections included
    collected = fused_collected / ".patchmerge" / "collected.json"
    patches = json_format.parse(collected.read_text(), collected).patches
    assert {p.phase for p in patches} == {0, 1}
    domains = condition_domains(patches)
    domains["qlora"] = [False, True]

    def both(assignment):
        flags = flags_for(assignment)
        return assignment, run_script(EXAMPLE, flags, no_patches=False), run_script(fused_collected, flags, True)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(both, assignments(domains)))
    compared = 0
    raised = 0
    for assignment, runtime, fused_run in results:
        if runtime.returncode != 0:  # two replacements without force_patch: the runtime raises, as documented
            assert assignment.get("tp_2d") and assignment.get("unaligned_linear"), runtime.stderr[-1500:]
            # the collected file says both share MegatronAdaptation's Patch: the fused tree raises the same
            error = runtime.stderr.strip().splitlines()[-1]
            assert error.startswith("RuntimeError: the patch of") and error.endswith("exist !"), error
            assert fused_run.returncode != 0 and fused_run.stderr.strip().splitlines()[-1] == error
            raised += 1
            continue
        assert fused_run.returncode == 0, f"{assignment}: fused tree failed:\n{fused_run.stderr[-3000:]}"
        assert fused_run.stdout == runtime.stdout, f"{assignment}: fused output differs from the adaptor's"
        compared += 1
    assert compared >= len(results) * 3 // 4 and raised
