"""A merge or undo killed part way (SIGKILL through the fault-injection variable) leaves a journal; `recover`
brings the tree back to its bytes from before the merge and says what it did."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from patchmerge.fusion.journal import FAULT_ENV, recover, refuse_interrupted
from patchmerge.fusion.model import FileEdit
from patchmerge.fusion.transaction import (
    JOURNAL_NAME,
    MANIFEST_DIR,
    NothingToUndoError,
    TransactionError,
    commit_edits,
    undo_last,
)
from tests.conftest import chattr

CHILD = """
import pickle, sys
from pathlib import Path
from patchmerge.fusion.transaction import commit_edits, undo_last
root = Path(sys.argv[1])
if sys.argv[2] == "undo":
    undo_last(root)
else:
    commit_edits(root, pickle.loads(Path(sys.argv[2]).read_bytes()), {"run": "killed"})
"""


def files(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) outside the state folder."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
        if MANIFEST_DIR not in p.relative_to(root).parts
    }


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_bytes(b"A = 1\n")
    (root / "pkg" / "b.py").write_bytes(b"B = 2\n")
    (root / "pkg" / "c.py").write_bytes(b"C = 3\n")
    return root


def edits_for(root: Path) -> list[FileEdit]:
    return [
        FileEdit(Path("pkg/a.py"), (root / "pkg/a.py").read_bytes(), b"A = 10\n"),
        FileEdit(Path("pkg/new/d.py"), None, b"D = 4\n"),
        FileEdit(Path("pkg/b.py"), (root / "pkg/b.py").read_bytes(), b"B = 20\n"),
        FileEdit(Path("pkg/c.py"), (root / "pkg/c.py").read_bytes(), b"C = 30\n"),
    ]


def killed(root: Path, after: int, what: str) -> None:
    """Run `what` (a pickled edit list to commit, or "undo") in a child killed after its `after`-th replace."""
    env = dict(os.environ, **{FAULT_ENV: str(after)})
    child = subprocess.run([sys.executable, "-c", CHILD, str(root), what], env=env, capture_output=True, text=True)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert (root / MANIFEST_DIR / JOURNAL_NAME).is_file()


def killed_merge(root: Path, after: int, tmp_path: Path) -> None:
    edits = tmp_path / "edits.pickle"
    edits.write_bytes(pickle.dumps(edits_for(root)))
    killed(root, after, str(edits))


@pytest.mark.parametrize("after", [1, 2, 3, 4])
def test_killed_merge_is_rolled_back(root: Path, tmp_path: Path, after: int) -> None:
    before = files(root)
    killed_merge(root, after, tmp_path)
    assert files(root) != before
    assert recover(root) == (
        f"found an interrupted merge of {root} ({after} of 4 files replaced): rolled back, "
        "the tree is as it was before that merge"
    )
    assert files(root) == before
    assert recover(root) is None
    with pytest.raises(NothingToUndoError):
        undo_last(root)


def test_killed_merge_keeps_the_run_before_it(root: Path, tmp_path: Path) -> None:
    before = files(root)
    commit_edits(root, [FileEdit(Path("pkg/c.py"), b"C = 3\n", b"C = 3  # first run\n")], {"run": 1})
    first = files(root)
    manifest = (root / MANIFEST_DIR / "manifest.json").read_bytes()
    edits = [
        FileEdit(Path("pkg/a.py"), b"A = 1\n", b"A = 10\n"),
        FileEdit(Path("pkg/c.py"), b"C = 3  # first run\n", b"C = 30\n"),
    ]
    (tmp_path / "edits.pickle").write_bytes(pickle.dumps(edits))
    killed(root, 2, str(tmp_path / "edits.pickle"))
    assert recover(root) is not None
    assert files(root) == first and (root / MANIFEST_DIR / "manifest.json").read_bytes() == manifest
    undo_last(root)
    assert files(root) == before


@pytest.mark.parametrize("after", [1, 2, 3, 4])
def test_killed_undo_is_finished(root: Path, after: int) -> None:
    before = files(root)
    commit_edits(root, edits_for(root), {})
    run_id = json.loads((root / MANIFEST_DIR / "manifest.json").read_text())["run_id"]
    killed(root, after, "undo")
    assert recover(root) == (
        f"found an interrupted undo of {root} ({after} of 4 files restored): finished it, "
        f"the tree is as it was before merge {run_id}"
    )
    assert files(root) == before
    with pytest.raises(NothingToUndoError):
        undo_last(root)


def test_temp_files_a_killed_write_left_are_removed(root: Path, tmp_path: Path) -> None:
    before = files(root)
    killed_merge(root, 1, tmp_path)
    (root / "pkg" / ".b.py.x1y2.pmtmp").write_bytes(b"B = 2")  # killed between writing it and renaming it
    (root / MANIFEST_DIR / ".manifest.json.z9.pmtmp").write_bytes(b"{")
    recover(root)
    assert files(root) == before
    assert not list(root.rglob("*.pmtmp"))


def test_a_file_changed_after_the_crash_is_kept_unless_forced(root: Path, tmp_path: Path) -> None:
    before = files(root)
    killed_merge(root, 3, tmp_path)
    (root / "pkg" / "a.py").write_bytes(b"A = 'by hand'\n")
    edited = files(root)
    with pytest.raises(TransactionError) as info:
        recover(root)
    run = next((root / MANIFEST_DIR / "backups").iterdir())
    assert str(info.value) == (
        f"pkg/a.py: found an interrupted merge of {root}, but these files changed since: pkg/a.py; their originals "
        f"are in {run}; `patchmerge undo --force {root}` restores them over those changes"
    )
    assert files(root) == edited
    assert recover(root, force=True) is not None
    assert files(root) == before


def test_reading_commands_refuse_a_half_written_tree(root: Path, tmp_path: Path) -> None:
    killed_merge(root, 2, tmp_path)
    with pytest.raises(TransactionError) as info:
        refuse_interrupted(root)
    assert str(info.value) == (
        f"{root} holds an interrupted merge (2 of 4 files replaced): run `patchmerge undo {root}` to roll it back first"
    )
    with pytest.raises(TransactionError, match="holds an interrupted merge"):
        commit_edits(root, [FileEdit(Path("pkg/c.py"), b"C = 3\n", b"C = 0\n")], {})
    with pytest.raises(TransactionError, match="holds an interrupted merge"):
        undo_last(root)


def test_refusal_after_a_killed_undo(root: Path) -> None:
    commit_edits(root, edits_for(root), {})
    killed(root, 1, "undo")
    with pytest.raises(TransactionError) as info:
        refuse_interrupted(root)
    assert str(info.value) == (
        f"{root} holds an interrupted undo (1 of 4 files restored): run `patchmerge undo {root}` to finish it first"
    )


def test_damaged_journal_is_named(root: Path) -> None:
    (root / MANIFEST_DIR).mkdir()
    (root / MANIFEST_DIR / JOURNAL_NAME).write_text('{"kind": "merge", "files": ')
    with pytest.raises(TransactionError) as info:
        recover(root)
    assert str(info.value).startswith(
        f"{root / MANIFEST_DIR / JOURNAL_NAME}: damaged journal of an interrupted merge or undo ("
    )


def test_recovery_blocked_by_an_immutable_file_says_so_and_keeps_the_journal(root: Path, tmp_path: Path) -> None:
    before = files(root)
    killed_merge(root, 3, tmp_path)
    with chattr("i", root / "pkg" / "a.py"):
        with pytest.raises(TransactionError) as info:
            recover(root)
        assert (root / "pkg" / "a.py").read_bytes() == b"A = 10\n"  # the others may be back already
    assert str(info.value) == (
        f"found an interrupted merge of {root} but could not restore its files: cannot write pkg/a.py: the file is "
        f"immutable (`chattr -i {root / 'pkg' / 'a.py'}` lifts it); run the command again once that is fixed"
    )
    assert (root / MANIFEST_DIR / JOURNAL_NAME).is_file()
    assert recover(root) is not None
    assert files(root) == before
