"""Merges and undos of the bundled example killed part way: through the fault-injection variable, a child process
SIGKILLs itself right after its k-th file replacement, as a crash or `kill -9` would stop it."""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from patchmerge import bundled
from patchmerge.fusion.engine import merge
from patchmerge.fusion.journal import FAULT_ENV
from patchmerge.fusion.transaction import JOURNAL_NAME, MANIFEST_DIR, commit_edits
from patchmerge.session import load_session_patches, open_session

# commits the pickled edits of a merge: the write `patchmerge merge` does once the merge is computed
COMMIT_CHILD = """
import pickle, sys
from pathlib import Path
from patchmerge.fusion.transaction import commit_edits
commit_edits(Path(sys.argv[1]), pickle.loads(Path(sys.argv[2]).read_bytes()), {"profile": "example"})
"""

# `patchmerge undo ROOT` without the argument parser (which loads every command and costs a second per child)
UNDO_CHILD = """
import argparse, sys
from patchmerge.commands import undo
sys.exit(undo.run(argparse.Namespace(root_dir=sys.argv[1], force=False)))
"""


def tree(root: Path) -> dict[str, bytes]:
    """Every file outside the state folder, by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and MANIFEST_DIR not in p.relative_to(root).parts and "__pycache__" not in p.parts
    }


@dataclass
class Example:
    """The example before and after a merge, and that merge's edits (pickled for a child)."""

    base: Path
    pristine: dict[str, bytes]
    merged: dict[str, bytes]
    edits: Path
    files: int  # how many files the merge replaces

    def copy(self, name: str) -> Path:
        root = self.base / name
        shutil.copytree(bundled.example_root(), root, ignore=shutil.ignore_patterns("__pycache__", MANIFEST_DIR))
        return root.resolve()

    def merged_copy(self, name: str) -> Path:
        """A copy of the merged tree with its undo record (backups and manifests hold relative paths only)."""
        root = self.base / name
        shutil.copytree(self.base / MERGED, root, ignore=shutil.ignore_patterns("__pycache__"))
        return root.resolve()


MERGED = "merged"  # the example merged once, copied for each undo


def prepare(base: Path) -> Example:
    example = Example(base, {}, {}, base / "edits.pickle", 0)
    root = example.copy(MERGED)
    session = open_session(str(root), "example")
    edits = merge(session, load_session_patches(session, None)).edits
    example.edits.write_bytes(pickle.dumps(edits))
    example.pristine = tree(root)
    commit_edits(root, edits, {"profile": "example"})
    example.merged = tree(root)
    example.files = sum(e.new != e.original for e in edits)
    return example


def in_parallel(work: Callable[[int], object], points: Iterable[int]) -> None:
    """Children are mostly start-up and waiting on the disk: a few at once cut the wall time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(work, points))


def run_killed(command: list[str], after: int) -> subprocess.CompletedProcess[str]:
    """Run `command` killed after its `after`-th replacement; it must have died of SIGKILL, leaving its journal."""
    env = dict(os.environ, **{FAULT_ENV: str(after)})
    child = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, f"{command} after {after}: exit {child.returncode}\n{child.stderr}"
    return child


def kill_commit(example: Example, root: Path, after: int) -> None:
    run_killed([sys.executable, "-c", COMMIT_CHILD, str(root), str(example.edits)], after)
    assert (root / MANIFEST_DIR / JOURNAL_NAME).is_file()


def kill_undo(root: Path, after: int) -> None:
    run_killed([sys.executable, "-c", UNDO_CHILD, str(root)], after)
    assert (root / MANIFEST_DIR / JOURNAL_NAME).is_file()


def cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "patchmerge", *argv]
