"""`patchmerge merge`: fuse the patches into the tree, all or nothing, with reports and an undo record."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from patchmerge import bundled
from patchmerge.errors import PatchFileError
from patchmerge.fusion.diff import diff_stat, unified_diff
from patchmerge.fusion.engine import merge
from patchmerge.fusion.filewrite import TransactionError, cannot_write
from patchmerge.fusion.journal import recover, refuse_interrupted
from patchmerge.fusion.report import exit_status, summary_text, write_reports
from patchmerge.fusion.transaction import MANIFEST_DIR, commit_edits
from patchmerge.session import EXAMPLE_PROFILE, load_session_patches, open_session


def example_copy() -> Path:
    """The bundled example is never merged in place: each run gets a fresh copy."""
    target = Path(tempfile.mkdtemp(prefix="patchmerge-example-")) / "root"
    shutil.copytree(bundled.example_root(), target, ignore=shutil.ignore_patterns("__pycache__", MANIFEST_DIR))
    return target


def run(args: argparse.Namespace) -> int:
    root_dir, profile = args.root_dir, args.profile
    if root_dir is None:
        root_dir, profile = str(example_copy()), profile or EXAMPLE_PROFILE
        print(f"merging a copy of the bundled example: {root_dir}")
    session = open_session(root_dir, profile)
    if args.dry_run:  # writes nothing, not even a recovery
        refuse_interrupted(session.root)
    elif recovered := recover(session.root):  # a half-written tree is never merged into
        print(f"patchmerge: {recovered}", file=sys.stderr)
    if args.collect and args.patch_json:
        raise PatchFileError("give either PATCH_JSON or --collect, not both")
    patch_set = load_session_patches(session, args.patch_json, collect=args.collect)
    started = time.perf_counter()
    result = merge(session, patch_set, probes=False if args.no_probes else None)
    seconds = time.perf_counter() - started
    if args.dry_run:
        print(unified_diff(result.edits), end="")
        print(summary_text(result))
        print("dry run: nothing written")
        return exit_status(result)
    report_dir = Path(args.report_dir) if args.report_dir else session.root / MANIFEST_DIR / "report"
    _check_writable(session.root, report_dir)
    commit_edits(session.root, result.edits, {"patch_file": str(patch_set.source), "profile": session.profile.name})
    try:
        write_reports(report_dir, result, patch_set, session.pm, merge_seconds=seconds)
    except OSError as exc:
        refused = cannot_write(session.root, Path(exc.filename) if exc.filename else report_dir, exc)
        raise TransactionError(
            f"the merge is written (undo with: patchmerge undo {session.root}), but its reports are not: {refused}"
        ) from exc
    print(summary_text(result))
    if result.edits:
        print(diff_stat(result.edits))
    print(f"reports: {report_dir}  (undo with: patchmerge undo {session.root})")
    return exit_status(result)


def _check_writable(root: Path, report_dir: Path) -> None:
    """A report folder that cannot be written stops the merge before the tree is touched."""
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=report_dir, prefix=".probe.")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        refused = cannot_write(root, report_dir, exc, what="write the reports into")
        raise TransactionError(f"{refused}; nothing was written, the tree is as it was") from exc
