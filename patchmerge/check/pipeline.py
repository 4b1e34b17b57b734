"""One check: workspace, merge, model run, verdict, coverage. Shared by `check` and each step of `bisect`."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from patchmerge.check.model import SKIP_EXIT, CheckOptions, CheckResult, ModelRun, Verdict
from patchmerge.check.verdict import find_pattern, matcher, written_logs
from patchmerge.coverage.compute import coverage_document, read_logs
from patchmerge.coverage.report import write_reports as write_coverage
from patchmerge.errors import PatchmergeError
from patchmerge.fusion.engine import merge
from patchmerge.fusion.journal import refuse_interrupted
from patchmerge.fusion.model import Outcome
from patchmerge.fusion.report import write_reports as write_merge_reports
from patchmerge.fusion.transaction import MANIFEST_DIR, commit_edits
from patchmerge.model import PatchSet
from patchmerge.session import Session
from patchmerge.workspace import Workspace, create_workspace

LOG_NAME = "model.log"
COVERAGE_DIR = "coverage-report"


def model_shell_path(root: Path, options: CheckOptions) -> Path:
    """The model shell in the original tree; a clear error before anything is built if it is not there."""
    if not options.model_shell:
        raise PatchmergeError("no model shell: give --model-shell or set 'check.model_shell' in the profile")
    shell = root / options.shell_root / options.model_shell
    if not shell.is_file():
        raise PatchmergeError(f"model shell not found: {shell} (--model-shell is relative to {options.shell_root}/)")
    return shell


def run_check(
    origin: Session,
    patch_set: PatchSet,
    options: CheckOptions,
    workspace_dir: Path,
    *,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> CheckResult:
    """Check `patch_set` fused into a workspace of `origin.root`; the origin is only read."""
    refuse_interrupted(origin.root)  # a half-written origin would be checked as if it were the tree
    model_shell_path(origin.root, options)
    matches = matcher(options.pattern, options.regex)
    started = time.monotonic()
    workspace = create_workspace(origin.root, origin.profile.sources.roots, workspace_dir)
    session = Session(root=workspace.path.resolve(), profile=origin.profile, pm=origin.pm, is_example=False)
    result = CheckResult(verdict=Verdict.FAIL, reason="", workspace=workspace.path)

    failure = _merge_into(workspace, session, patch_set, options, result)
    if failure is not None:
        result.merge_failed, result.reason = True, failure
        result.seconds = time.monotonic() - started
        return result

    workspace.private_dir(options.shell_root)  # the script's own folder: real, its files copies
    for folder in options.write_dirs:
        workspace.copy_dir(f"{options.shell_root}/{folder}")
    for folder in _log_folders(options.log_files):
        workspace.fresh_dir(f"{options.shell_root}/{folder}")
    workspace.save()
    watched = {path: _mtime(path) for path in workspace.linked_dirs(options.shell_root)}
    run = _model_run(origin, options, workspace, on_record=on_record, stop=stop)
    return _judge(origin, patch_set, options, run, result, watched, matches, started)


def resume_check(
    origin: Session,
    patch_set: PatchSet,
    options: CheckOptions,
    workspace_dir: Path,
    record: Mapping[str, Any],
    *,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> CheckResult:
    """Go on with a check whose workspace was made and whose run was handed to a runner before patchmerge
    stopped: the runner gets its `record` back (say, a queued job) and waits for that run, not a new one."""
    matches = matcher(options.pattern, options.regex)
    started = time.monotonic()
    workspace = Workspace(path=workspace_dir.absolute(), origin=origin.root, roots=origin.profile.sources.roots)
    result = CheckResult(verdict=Verdict.FAIL, reason="", workspace=workspace.path)
    report = workspace.path / MANIFEST_DIR / "report" / "report.json"
    result.merge_report = report if report.is_file() else None
    run = _model_run(origin, options, workspace, record=record, on_record=on_record, stop=stop)
    return _judge(origin, patch_set, options, run, result, {}, matches, started)


def _model_run(
    origin: Session,
    options: CheckOptions,
    workspace: Workspace,
    *,
    record: Mapping[str, Any] | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> ModelRun:
    cwd = workspace.path / options.shell_root
    return ModelRun(
        command=("bash", str(cwd / options.model_shell)),
        cwd=cwd,
        env=_environment(workspace),
        log=workspace.path / LOG_NAME,
        timeout=options.timeout,
        echo=options.echo,
        profile=origin.profile,
        record=record,
        on_record=on_record,
        stop=stop,
    )


def _judge(
    origin: Session,
    patch_set: PatchSet,
    options: CheckOptions,
    run: ModelRun,
    result: CheckResult,
    watched: dict[Path, int | None],
    matches: Callable[[str], bool],
    started: float,
) -> CheckResult:
    """Run the model through the runner hooks, then decide the verdict from its exit and logs."""
    outcome = origin.pm.hook.run_model(run=run)
    result.log, result.script_exit, result.job = run.log, outcome.exit_status, outcome.record
    for path, before in watched.items():
        if _mtime(path) != before:
            result.warnings.append(
                f"the script changed {path} in the original tree (a folder the workspace links to); add "
                f"{path.name!r} to check.write_dirs so that each check writes into its own copy"
            )
    logs = [run.log, *written_logs(run.cwd, options.log_files)]
    found = find_pattern(logs, matches)
    result.matched_in = str(found) if found else None
    what = f"regular expression {options.pattern!r}" if options.regex else f"{options.pattern!r}"
    note = f" ({outcome.note})" if outcome.note else ""
    if outcome.skip_reason is not None:
        result.verdict, result.reason = Verdict.SKIP, outcome.skip_reason
    elif outcome.timed_out:
        result.reason = f"the model script was stopped at the timeout ({outcome.note or f'{options.timeout:g} s'})"
    elif outcome.exit_status == SKIP_EXIT:
        result.verdict = Verdict.SKIP
        result.reason = f"the model script exited {SKIP_EXIT}: this run cannot be judged{note}"
    elif outcome.exit_status != 0:
        result.reason = f"the model script exited with status {outcome.exit_status}{note}"
    elif found is None:
        result.reason = f"{what} not found in the output nor in the log files{note}"
    else:
        result.verdict, result.reason = Verdict.PASS, f"{what} found in {found.name}{note}"
    result.coverage = _coverage(origin, patch_set, logs, result.workspace / COVERAGE_DIR)
    result.seconds = time.monotonic() - started
    return result


def _merge_into(
    workspace: Workspace, session: Session, patch_set: PatchSet, options: CheckOptions, result: CheckResult
) -> str | None:
    """Merge into the workspace; the reason it failed, or None."""
    try:
        merged = merge(session, patch_set, probes=options.probes)
    except PatchmergeError as exc:
        return f"merge failed: {exc}"
    failed = [o for o in merged.outcomes if o.outcome is Outcome.FAILED]
    for edit in merged.edits:
        workspace.materialise(edit.path)
    workspace.save()
    commit_edits(workspace.path, merged.edits, {"patch_file": str(patch_set.source), "check": True})
    report_dir = workspace.path / MANIFEST_DIR / "report"
    write_merge_reports(report_dir, merged, patch_set, session.pm)
    result.merge_report = report_dir / "report.json"
    result.fused = [o.patch.id for o in merged.outcomes if o.outcome in (Outcome.FUSED, Outcome.ALREADY_FUSED)]
    if failed and options.strict_merge:
        first = failed[0]
        return f"merge failed for {len(failed)} patch(es), first {first.patch.id}: {first.reason}"
    return None


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _log_folders(globs: tuple[str, ...]) -> list[str]:
    """Top folders of the log globs (msrun_log/worker_*.log -> msrun_log): made fresh, so that old logs of the
    original tree are neither read nor written."""
    folders = []
    for pattern in globs:
        head = Path(pattern).parts[0] if len(Path(pattern).parts) > 1 else None
        if head and not any(c in head for c in "*?[") and head not in folders:
            folders.append(head)
    return folders


def _environment(workspace: Workspace) -> dict[str, str]:
    env = dict(os.environ)
    roots = [str(workspace.path / r) for r in workspace.roots]
    if env.get("PYTHONPATH"):
        roots.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(roots)
    # byte code goes to the workspace: a linked folder must not get a __pycache__ in the original tree
    env["PYTHONPYCACHEPREFIX"] = str(workspace.path / ".pycache")
    env["PATCHMERGE_WORKSPACE"] = str(workspace.path)
    return env


def _coverage(origin: Session, patch_set: PatchSet, logs: list[Path], out_dir: Path) -> dict[str, object]:
    prefix = origin.profile.probes.prefix
    document = coverage_document(patch_set, read_logs([p for p in logs if p.is_file()], origin.pm, prefix))
    write_coverage(out_dir, document, patch_set, origin.pm)
    return document
