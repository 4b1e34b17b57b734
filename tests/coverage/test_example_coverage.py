"""Coverage of the bundled example, fused and run as several workers under different condition values, checked
against the reference runtime patcher's own record of which patches applied in each setting."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from patchmerge.cli import main
from tests.example_runs import ARGS_PROVIDER, EXAMPLE, PATCHES, SCRIPT, _run

SETTINGS = [[], ["--tp-2d", "--mode", "b"], ["--qlora", "--num-experts", "2"], ["--use-legacy-models"]]
POST_INIT_TP2D = "megatron.core.transformer.transformer_config.TransformerConfig.__post_init__#0"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("excov")
    root = base / "root"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    assert main(["merge", str(root), "--profile", "example"]) == 0
    logs, applied = base / "msrun_log", {}
    logs.mkdir()
    for rank, flags in enumerate(SETTINGS):
        record = base / f"applied_{rank}.json"
        reference = [
            sys.executable,
            "-m",
            "tests.reference.run_patched",
            "--patches",
            str(PATCHES),
            "--args",
            ARGS_PROVIDER,
            "--record",
            str(record),
            SCRIPT,
            *flags,
        ]
        assert _run(EXAMPLE, reference, no_patches=True).returncode == 0
        applied[str(rank)] = set(json.loads(record.read_text()))
        fused = _run(root, [sys.executable, SCRIPT, *flags], no_patches=True)
        assert fused.returncode == 0, fused.stderr[-2000:]
        (logs / f"worker_{rank}.log").write_text(fused.stdout + fused.stderr)
    out = base / "report"
    assert main(["coverage", "--json-file", str(PATCHES), "--log-file", str(logs), "--output-dir", str(out)]) == 0
    return json.loads((out / "coverage.json").read_text()), applied


def test_every_hit_is_a_patch_the_runtime_applied_on_that_rank(runs):
    document, applied = runs
    for patch in document["patches"]:
        for rank in patch["ranks"]:
            assert patch["id"] in applied[rank], f"{patch['id']} hit on rank {rank} but not applied there"
    hit = {p["id"] for p in document["patches"] if p["hit"]}
    assert document["patches_hit"] == len(hit) > 25
    assert hit <= set().union(*applied.values())


def test_conditional_branches_are_hit_exactly_where_their_condition_held(runs):
    document, applied = runs
    ranks = {p["id"]: p["ranks"] for p in document["patches"]}
    assert ranks[POST_INIT_TP2D] == ["1"]  # only the --tp-2d worker
    assert [r for r, ids in applied.items() if POST_INIT_TP2D in ids] == ["1"]
    legacy = "megatron.legacy.model.transformer.ParallelTransformer.forward#0"
    assert ranks[legacy] == ["3"]  # applied everywhere, run only where the legacy model is built
    assert document["lines_damaged"] == 0
