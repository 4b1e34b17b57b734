"""One check end to end on generated trees: pass, wrong loss, merge error, crash, timeout, skip, log files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from patchmerge.check.model import CheckOptions, CheckResult, ModelRun, RunOutcome, Verdict
from patchmerge.check.pipeline import run_check
from patchmerge.errors import PatchmergeError
from patchmerge.hookspecs import hookimpl
from patchmerge.session import load_session_patches, open_session
from tests.check.model_trees import expected_loss, write_model_tree
from tests.test_workspace import snapshot

OPS = 8


def options(**changes: object) -> CheckOptions:
    values: dict[str, object] = {
        "model_shell": "run.sh",
        "pattern": expected_loss(OPS),
        "regex": False,
        "timeout": 60.0,
        "log_files": ("msrun_log/worker_*.log",),
        "shell_root": "MindSpeed-LLM",
        "echo": False,
    }
    values.update(changes)
    return CheckOptions(**values)  # type: ignore[arg-type]


def check(tmp_path: Path, opts: CheckOptions | None = None, **tree: object) -> tuple[CheckResult, Path]:
    root = tmp_path / "root"
    profile = write_model_tree(root, ops=OPS, **tree)  # type: ignore[arg-type]
    session = open_session(str(root), str(profile))
    before = snapshot(root)
    result = run_check(session, load_session_patches(session, None), opts or options(), tmp_path / "ws")
    assert snapshot(root) == before, "a check never changes the original tree"
    assert not list(root.rglob("__pycache__")), "byte code goes to the workspace"
    return result, root


def test_a_faithful_fusion_passes(tmp_path: Path) -> None:
    result, _ = check(tmp_path)
    assert result.verdict is Verdict.PASS and result.script_exit == 0 and not result.merge_failed
    assert result.log is not None and expected_loss(OPS) in result.log.read_text()
    assert len(result.fused) == OPS
    assert result.coverage is not None and result.coverage["patches_hit"] == OPS
    assert (result.workspace / "coverage-report" / "coverage.json").is_file()


def test_a_wrong_loss_fails(tmp_path: Path) -> None:
    result, _ = check(tmp_path, conditional=(3,))
    assert result.verdict is Verdict.FAIL and result.script_exit == 0
    assert "not found" in result.reason and not result.merge_failed


def test_a_merge_error_fails_without_running_the_script(tmp_path: Path) -> None:
    root = tmp_path / "root"
    profile = write_model_tree(root, ops=OPS)
    with open(root / "Megatron-LM/megatron/core/ops.py", "a") as ops:
        ops.write("_patchmerge = None\n")  # the name the fused block needs: the merge refuses the module
    session = open_session(str(root), str(profile))
    result = run_check(session, load_session_patches(session, None), options(), tmp_path / "ws")
    assert result.merge_failed and result.verdict is Verdict.FAIL and result.log is None
    assert "merge failed" in result.reason and "ops.py" in result.reason


def test_strict_merge_fails_on_a_patch_it_cannot_fuse(tmp_path: Path) -> None:
    root = tmp_path / "root"
    profile = write_model_tree(root, ops=OPS)
    patches = root / "patches.json"
    patches.write_text(patches.read_text().replace("op_05_wrapper\"", "op_05_missing\"", 1))
    session = open_session(str(root), str(profile))
    patch_set = load_session_patches(session, None)
    lenient = run_check(session, patch_set, options(), tmp_path / "ws1")
    assert not lenient.merge_failed
    strict = run_check(session, patch_set, options(strict_merge=True), tmp_path / "ws2")
    assert strict.merge_failed and "megatron.core.ops.op_05#0" in strict.reason


def test_a_crashing_script_fails_even_if_the_line_was_printed(tmp_path: Path) -> None:
    result, _ = check(tmp_path, shell_body=f"echo '{expected_loss(OPS)}'\nexit 3\n")
    assert result.verdict is Verdict.FAIL and result.script_exit == 3 and "status 3" in result.reason


def test_a_hung_script_is_stopped_at_the_timeout_with_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    body = f"sleep 60 &\necho $! > {marker}\nwait\n"
    started = time.monotonic()
    result, _ = check(tmp_path, options(timeout=1.0), shell_body=body)
    assert time.monotonic() - started < 30
    assert result.verdict is Verdict.FAIL and result.script_exit is None and "timeout" in result.reason
    child = int(marker.read_text())
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]


def test_exit_125_means_the_run_cannot_be_judged(tmp_path: Path) -> None:
    result, _ = check(tmp_path, shell_body="exit 125\n")
    assert result.verdict is Verdict.SKIP and result.document()["verdict"] == "fail"


def test_the_line_may_come_from_a_worker_log_and_old_logs_are_not_read(tmp_path: Path) -> None:
    root = tmp_path / "root"
    stale = root / "MindSpeed-LLM" / "msrun_log"
    stale.mkdir(parents=True)
    (stale / "worker_0.log").write_text(expected_loss(OPS) + "\n")
    body = "python3 train.py > /dev/null\nmkdir -p msrun_log\necho 'done' > msrun_log/worker_0.log\n"
    failed, _ = check(tmp_path, shell_body=body)
    assert failed.verdict is Verdict.FAIL, "the original tree's old worker log must not count"

    other = tmp_path / "second"
    other.mkdir()
    body = "mkdir -p msrun_log\npython3 train.py > msrun_log/worker_1.log\n"
    passed, _ = check(other, shell_body=body)
    assert passed.verdict is Verdict.PASS and passed.matched_in is not None
    assert passed.matched_in.endswith("worker_1.log")


def test_a_regular_expression(tmp_path: Path) -> None:
    result, _ = check(tmp_path, options(pattern=r"loss: \d+$", regex=True))
    assert result.verdict is Verdict.PASS
    with pytest.raises(PatchmergeError, match="regular expression"):
        check(tmp_path / "x", options(pattern="loss: (", regex=True))


class ClusterRunner:
    """What a plugin sending runs to a scheduler looks like: it gets the run and writes the job's output."""

    def __init__(self) -> None:
        self.runs: list[ModelRun] = []

    @hookimpl
    def run_model(self, run: ModelRun) -> RunOutcome:
        self.runs.append(run)
        run.log.write_text(f"job output\n{expected_loss(OPS)}\n")
        return RunOutcome(exit_status=0, seconds=0.0)


def test_a_runner_plugin_takes_the_run(tmp_path: Path) -> None:
    root = tmp_path / "root"
    profile = write_model_tree(root, ops=OPS, shell_body="exit 1\n")
    session = open_session(str(root), str(profile))
    runner = ClusterRunner()
    session.pm.register(runner)
    result = run_check(session, load_session_patches(session, None), options(), tmp_path / "ws")
    assert result.verdict is Verdict.PASS and len(runner.runs) == 1
    run = runner.runs[0]
    assert run.cwd == tmp_path / "ws" / "MindSpeed-LLM" and run.command[-1].endswith("run.sh")
    assert run.env["PYTHONPATH"].split(":")[:3] == [str(tmp_path / "ws" / r) for r in session.profile.sources.roots]


def test_a_script_writing_into_a_linked_folder_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "MindSpeed-LLM/ckpt").mkdir(parents=True)
    body = "python3 train.py\ntouch ckpt/iter_1.pt\n"
    profile = write_model_tree(root, ops=OPS, shell_body=body)
    session = open_session(str(root), str(profile))
    result = run_check(session, load_session_patches(session, None), options(), tmp_path / "ws")
    assert result.verdict is Verdict.PASS
    assert any("ckpt" in w and "check.write_dirs" in w for w in result.warnings)
    (root / "MindSpeed-LLM/ckpt/iter_1.pt").unlink()
    kept = run_check(session, load_session_patches(session, None), options(write_dirs=("ckpt",)), tmp_path / "ws2")
    assert kept.warnings == [] and not (root / "MindSpeed-LLM/ckpt/iter_1.pt").exists()
    assert (tmp_path / "ws2/MindSpeed-LLM/ckpt/iter_1.pt").exists()
