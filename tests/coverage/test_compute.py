"""Coverage figures from many workers: patch and module coverage, originals, per-rank hits, damaged lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchmerge.coverage.compute import coverage_document, derive_module, modules_of, read_logs
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file
from patchmerge.profile import Profile, Sources
from tests.coverage.conftest import PREFIX, probe, write_log

PROFILE = Profile(name="t", sources=Sources(roots=(), rewritable=()))


def document(patch_json: Path, *logs: Path) -> dict:
    pm = make_plugin_manager(None, load_entry_points=False)
    patch_set = load_patch_file(patch_json, pm, PROFILE)
    return coverage_document(patch_set, read_logs(list(logs), pm, PREFIX))


def test_workers_hitting_different_branches(tmp_path, patch_json):
    logs = tmp_path / "msrun_log"
    # rank 0 ran with args.fast, rank 1 with args.slow; both took the wrapper; Linear.forward ran its original
    w0 = write_log(
        logs / "worker_0.log",
        probe("megatron.core.x.f#0"),
        probe("megatron.core.x.f#2"),
        probe("megatron.core.layers.Linear.forward#original"),
    )
    w1 = write_log(
        logs / "worker_1.log",
        "[rank1]: " + probe("megatron.core.x.f#1"),
        "[rank1]: " + probe("megatron.core.x.f#2"),
        "[rank1]: " + probe("megatron.core.layers.Linear.forward#original")[:70],  # killed mid-write
        newline_at_end=False,
    )
    d = document(patch_json, w0, w1)
    assert (d["patches_total"], d["patches_hit"], d["patch_ratio"]) == (5, 3, 0.6)
    assert (d["modules_total"], d["modules_hit"], d["module_ratio"]) == (2, 2, 1.0)
    assert d["lines_damaged"] == 1
    rows = {row["id"]: (row["hit"], row["ranks"]) for row in d["patches"]}
    assert rows == {
        "megatron.core.x.f#0": (True, ["0"]),
        "megatron.core.x.f#1": (True, ["1"]),
        "megatron.core.x.f#2": (True, ["0", "1"]),
        "megatron.core.x.g#0": (False, []),
        "megatron.core.layers.Linear.forward#0": (False, []),
    }
    assert set(d["patches"][0]) == {"id", "target", "patch_import", "hit", "ranks"}
    assert d["patches"][0]["patch_import"] == "mindspeed.x.f_fast"
    assert d["originals_hit"] == [
        {"target": "megatron.core.layers.Linear.forward", "module": "megatron.core.layers", "ranks": ["0"]}
    ]
    assert d["ranks"] == [
        {"rank": "0", "patches_hit": 2, "originals_hit": 1},
        {"rank": "1", "patches_hit": 2, "originals_hit": 0},
    ]
    assert [(log["format"], log["probes"], log["damaged"]) for log in d["logs"]] == [("msrun", 3, 0), ("msrun", 2, 1)]
    assert d["logs"][1]["damaged_examples"][0]["line"] == 3
    assert d["ids_not_in_json"] == []


def test_module_hit_only_when_a_branch_in_it_ran(tmp_path, patch_json):
    d = document(patch_json, write_log(tmp_path / "a.log", probe("megatron.core.x.g#0", rank=0)))
    assert (d["patches_hit"], d["modules_hit"], d["modules_total"]) == (1, 1, 2)
    assert {m["module"]: m["hit"] for m in d["modules"]} == {"megatron.core.x": True, "megatron.core.layers": False}


def test_no_probe_at_all_is_zero_coverage_not_an_error(tmp_path, patch_json):
    d = document(patch_json, write_log(tmp_path / "a.log", "just noise"))
    assert (d["patches_hit"], d["patch_ratio"], d["modules_hit"], d["lines_damaged"]) == (0, 0.0, 0, 0)
    assert d["ranks"] == [] and d["originals_hit"] == []


def test_unknown_rank_and_ids_not_in_the_json(tmp_path, patch_json):
    log = write_log(tmp_path / "a.log", probe("megatron.core.x.f#0"), probe("megatron.core.zzz.h#0", rank=2))
    d = document(patch_json, log)
    assert d["patches"][0]["ranks"] == [] and d["patches"][0]["hit"]
    assert d["ranks"] == [{"rank": None, "patches_hit": 1, "originals_hit": 0}]
    assert d["ids_not_in_json"] == ["megatron.core.zzz.h#0"]
    assert d["patches_hit"] == 1


def test_ranks_sorted_as_numbers(tmp_path, patch_json):
    logs = [write_log(tmp_path / f"worker_{r}.log", probe("megatron.core.x.g#0")) for r in (10, 2, 1)]
    assert document(patch_json, *logs)["patches"][3]["ranks"] == ["1", "2", "10"]


def test_module_from_the_probe_payload_wins_and_spreads_to_the_same_class(tmp_path, patch_json):
    seen = {"megatron.core.pkg.Linear.forward": "megatron.core.pkg.layers"}
    targets = ["megatron.core.pkg.Linear.forward", "megatron.core.pkg.Linear.backward", "megatron.core.pkg.f"]
    assert modules_of(targets, seen) == {
        "megatron.core.pkg.Linear.forward": "megatron.core.pkg.layers",
        "megatron.core.pkg.Linear.backward": "megatron.core.pkg.layers",
        "megatron.core.pkg.f": "megatron.core.pkg",  # a package's names may come from any submodule
    }


@pytest.mark.parametrize(
    ("target", "module"),
    [
        ("megatron.core.x.Attention.forward", "megatron.core.x"),
        ("megatron.core.x.Attention", "megatron.core.x"),
        ("megatron.core.x.f", "megatron.core.x"),
        ("megatron.training.utils.get_args", "megatron.training.utils"),
        ("f", "f"),
    ],
)
def test_derive_module(target, module):
    assert derive_module(target) == module
