"""`patchmerge bisect`: find the patch, or the smallest set of patches, whose fusion makes `check` fail."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from patchmerge.bisection.driver import Bisector
from patchmerge.bisection.state import (
    STATE_FILE,
    BisectState,
    BisectStateError,
    file_digest,
    load_state,
    save_state,
)
from patchmerge.check.pipeline import model_shell_path
from patchmerge.check.verdict import matcher
from patchmerge.commands.check import check_options, open_tree
from patchmerge.errors import EXIT_OK, EXIT_PARTIAL
from patchmerge.session import Session, load_session_patches, patch_file_path
from patchmerge.writable import read_only_note, state_path

MARKS = {"good": "pass", "bad": "fail", "skip": "skip"}


def run(args: argparse.Namespace) -> int:
    continuing = args.resume or args.mark is not None
    previous = load_state(Path(args.state_dir)) if continuing and args.state_dir else None
    if previous is not None:  # what the bisect was started with, unless given again
        args.root_dir = args.root_dir or previous.root
        args.patch_json = args.patch_json or previous.patch_file
        args.profile = args.profile or previous.profile
    session = open_tree(args)
    patch_path = patch_file_path(session, args.patch_json)
    patch_set = load_session_patches(session, str(patch_path))
    options = check_options(session.profile, args, echo=False)
    model_shell_path(session.root, options)
    matcher(options.pattern, options.regex)
    jobs = args.jobs if args.jobs is not None else session.profile.bisect.jobs
    if jobs < 1:
        raise BisectStateError(f"--jobs must be at least 1, got {jobs}")
    state_dir = (Path(args.state_dir) if args.state_dir else _default_state_dir(session)).absolute()
    fresh = BisectState(
        root=str(session.root),
        profile=str(session.profile.path) if session.profile.path else session.profile.name,
        patch_file=str(patch_path.absolute()),
        patch_sha256=file_digest(patch_path),
        units=list(patch_set.targets),
    )
    state = _continue(state_dir, fresh) if continuing else _start(state_dir, fresh)
    if args.mark is not None:
        _mark(state, args.mark)
        save_state(state_dir, state)
    bisector = Bisector(session, patch_set, options, state_dir, state, jobs=jobs, progress=_progress)
    print(f"bisect: {len(patch_set)} patches on {len(bisector.units)} targets; state: {state_dir}", file=sys.stderr)
    try:
        finding = bisector.run()
    except KeyboardInterrupt:
        hint = f"patchmerge bisect --resume --state-dir {state_dir}"
        print(f"bisect: interrupted; continue with: {hint}", file=sys.stderr)
        raise
    result = bisector.save_result(finding)
    document = bisector.result_document(finding)
    if finding.found:
        print(f"culprit{'s' if len(document['culprits']) > 1 else ''}:")
        for target in document["culprit_targets"]:
            for patch in patch_set.targets[target]:
                print(f"  {patch.id}  ({patch.patch_import})")
    else:
        print("no culprit found")
    if finding.note:
        print(f"note: {finding.note}")
    print(f"model runs: {document['runs']} ({bisector.runs_this_time} this time); result: {result}")
    return EXIT_OK if finding.found else EXIT_PARTIAL


def _default_state_dir(session: Session) -> Path:
    """The profile's bisect.state_dir, or its place under the tree's cache folder when ROOT_DIR is read-only
    (the same place every time, so --resume finds it without --state-dir)."""
    state_dir, moved = state_path(session.root, session.profile.bisect.state_dir)
    if moved:
        print(read_only_note("bisect state", state_dir), file=sys.stderr)
    return state_dir


def _start(state_dir: Path, state: BisectState) -> BisectState:
    if (state_dir / STATE_FILE).exists():
        raise BisectStateError(
            f"a bisect is already recorded in {state_dir}: add --resume to continue it, or remove the folder "
            "(or give another --state-dir) to start again"
        )
    save_state(state_dir, state)
    return state


def _continue(state_dir: Path, fresh: BisectState) -> BisectState:
    state = load_state(state_dir)
    if state.patch_sha256 != fresh.patch_sha256 or state.units != fresh.units:
        raise BisectStateError(
            f"{fresh.patch_file} changed since the bisect in {state_dir} started; start a new one instead"
        )
    return state


def _mark(state: BisectState, mark: str) -> None:
    """Give the step the bisect waits on (an interrupted one, else the last) a verdict by hand."""
    step = state.pending() or (state.steps[-1] if state.steps else None)
    if step is None:
        raise BisectStateError("no step to mark yet: run the bisect first")
    step.verdict, step.marked = MARKS[mark], True
    step.reason = f"marked {mark} by hand"
    print(f"bisect: step {step.number} marked {mark}", file=sys.stderr)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
