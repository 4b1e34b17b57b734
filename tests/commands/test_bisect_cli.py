"""`patchmerge bisect` end to end on generated trees and on the bundled example."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from patchmerge import bundled
from patchmerge.cli import main
from patchmerge.writable import tree_cache_dir
from tests.check.model_trees import write_model_tree
from tests.read_only import example_copy, simulate_read_only, tree_digest

BROKEN_EXAMPLE = bundled.example_root() / "patches-broken.json"
COUNTER_PLUGIN = """
import threading
from pathlib import Path
from patchmerge.check.model import RunOutcome
from patchmerge.hookspecs import hookimpl

COUNTER = Path({counter!r})
LOCK = threading.Lock()  # --jobs runs checks in threads


@hookimpl(tryfirst=True)
def run_model(run):
    with LOCK:
        calls = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1
        COUNTER.write_text(str(calls))
    if calls == {interrupt_at}:
        raise KeyboardInterrupt
    if calls == {skip_at}:
        run.log.write_text("cannot judge this one\\n")
        return RunOutcome(exit_status=125, seconds=0.0)
    return None  # the built-in local runner runs it
"""


def tree(tmp_path: Path, *, interrupt_at: int = 0, skip_at: int = 0, **shape: object) -> tuple[Path, Path, Path]:
    root = tmp_path / "root"
    profile = write_model_tree(root, **shape)  # type: ignore[arg-type]
    counter = tmp_path / "runs"
    plugin = tmp_path / "counting_runner.py"
    plugin.write_text(COUNTER_PLUGIN.format(counter=str(counter), interrupt_at=interrupt_at, skip_at=skip_at))
    text = profile.read_text().replace("[sources]", f'plugins = ["{plugin}"]\n[sources]', 1)
    profile.write_text(text)
    return root, profile, counter


def bisect(root: Path, profile: Path, *extra: str) -> int:
    return main(["bisect", str(root), "--profile", str(profile), "--state-dir", str(root.parent / "state"), *extra])


def result(root: Path) -> dict:
    return json.loads((root.parent / "state" / "result.json").read_text())


def test_one_culprit_among_64_patches_within_log2_plus_2_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, profile, counter = tree(tmp_path, ops=64, conditional=(37,))
    assert bisect(root, profile) == 0
    document = result(root)
    assert document["culprits"] == ["megatron.core.ops.op_37#0"]
    assert document["runs"] <= math.ceil(math.log2(64)) + 2 and int(counter.read_text()) == document["runs"]
    assert all(Path(s["workspace"]).is_dir() and s["verdict"] for s in document["steps"])
    out = capsys.readouterr()
    assert "megatron.core.ops.op_37#0" in out.out and "step 1 of about 8" in out.err


def test_a_pair_that_fails_only_together(tmp_path: Path) -> None:
    root, profile, _ = tree(tmp_path, ops=16, pair=(4, 11))
    assert bisect(root, profile) == 0
    assert result(root)["culprits"] == ["megatron.core.ops.op_04#0", "megatron.core.ops.op_11#0"]


def test_nothing_to_find_when_the_full_set_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, profile, counter = tree(tmp_path, ops=8)
    assert bisect(root, profile) == 1
    assert result(root)["culprits"] == [] and counter.read_text() == "1"
    assert "no culprit found" in capsys.readouterr().out


def test_resume_after_an_interruption_repeats_no_finished_run(tmp_path: Path) -> None:
    root, profile, counter = tree(tmp_path, ops=32, conditional=(20,), interrupt_at=4)
    assert bisect(root, profile) == 2  # Ctrl-C during the fourth run
    state = json.loads((root.parent / "state" / "state.json").read_text())
    finished = [s for s in state["steps"] if s["verdict"]]
    assert len(finished) == 3 and state["steps"][-1]["verdict"] is None
    assert bisect(root, profile, "--resume") == 0
    document = result(root)
    assert document["culprits"] == ["megatron.core.ops.op_20#0"]
    keys = [tuple(s["units"]) for s in document["steps"]]
    assert len(keys) == len(set(keys)), "each subset ran once"
    # runs: 3 before the interruption, then the rest; the interrupted one was started again, nothing else
    assert document["runs"] == int(counter.read_text()) - 1


def test_starting_over_an_existing_bisect_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, profile, _ = tree(tmp_path, ops=4, conditional=(1,))
    assert bisect(root, profile) == 0
    capsys.readouterr()
    assert bisect(root, profile) == 2
    assert "--resume" in capsys.readouterr().err


def test_a_skipped_step_is_stepped_around(tmp_path: Path) -> None:
    root, profile, _ = tree(tmp_path, ops=32, conditional=(9,), skip_at=2)
    assert bisect(root, profile) == 0
    document = result(root)
    assert document["culprits"] == ["megatron.core.ops.op_09#0"]
    assert [s["verdict"] for s in document["steps"]].count("skip") == 1


def test_mark_gives_the_interrupted_step_a_verdict(tmp_path: Path) -> None:
    root, profile, counter = tree(tmp_path, ops=16, conditional=(3,), interrupt_at=2)
    assert bisect(root, profile) == 2
    # the interrupted step fused targets 1-8, which hold the culprit: the user knows it is bad
    assert bisect(root, profile, "--mark", "bad") == 0
    document = result(root)
    assert document["culprits"] == ["megatron.core.ops.op_03#0"]
    marked = [s for s in document["steps"] if s["marked"]]
    assert len(marked) == 1 and marked[0]["verdict"] == "fail" and marked[0]["number"] == 2


def test_parallel_jobs(tmp_path: Path) -> None:
    root, profile, _ = tree(tmp_path, ops=16, conditional=(12,))
    assert bisect(root, profile, "--jobs", "3") == 0
    assert result(root)["culprits"] == ["megatron.core.ops.op_12#0"]


def test_the_bundled_example_finds_its_wrong_patch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bisect", str(BROKEN_EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "megatron.core.transformer.torch_norm.WrappedTorchNorm.forward#0" in out
    runs = int(out.split("model runs: ")[1].split()[0])
    assert runs <= math.ceil(math.log2(32)) + 2


def test_jobs_below_one_is_bad_input_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, profile, _ = tree(tmp_path, ops=4, conditional=(1,))
    assert bisect(root, profile, "--jobs", "0") == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    assert not (root.parent / "state").exists()


def test_a_read_only_root_dir_keeps_the_bisect_state_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = example_copy(tmp_path)
    before = tree_digest(root)
    simulate_read_only(monkeypatch, root, tmp_path / "cache")
    argv = ["bisect", str(root), str(root / "patches-broken.json"), "--profile", "example"]
    assert main(argv) == 0
    state = tree_cache_dir(root) / "bisect"
    captured = capsys.readouterr()
    assert f"ROOT_DIR is read-only: bisect state in {state}\n" in captured.err
    culprit = "megatron.core.transformer.torch_norm.WrappedTorchNorm.forward#0"
    assert json.loads((state / "result.json").read_text())["culprits"] == [culprit] and culprit in captured.out
    # --resume finds the same state folder without --state-dir, and runs nothing again
    assert main([*argv, "--resume"]) == 0
    assert "(0 this time)" in capsys.readouterr().out
    assert tree_digest(root) == before
