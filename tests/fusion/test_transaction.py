import errno
import fnmatch
import json
import os
import stat
from pathlib import Path

import pytest

from patchmerge.errors import PatchmergeError
from patchmerge.fusion import transaction
from patchmerge.fusion.model import FileEdit
from patchmerge.fusion.transaction import (
    MANIFEST_DIR,
    MergeConflictError,
    NothingToUndoError,
    TransactionError,
    UndoConflictError,
    commit_edits,
    undo_last,
)
from tests.conftest import fail_os_replace


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under root, relative paths."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def tree_only(root: Path) -> dict[str, bytes | None]:
    return {k: v for k, v in snapshot(root).items() if not k.startswith(MANIFEST_DIR)}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_bytes(b"def a():\n    return 1\n")
    (root / "pkg" / "b.py").write_bytes(b"B = 2\n")
    (root / "pkg" / "c.py").write_bytes(b"C = 3")
    return root


def edits_for(root: Path) -> list[FileEdit]:
    return [
        FileEdit(Path("pkg/a.py"), (root / "pkg/a.py").read_bytes(), b"def a():\n    return 10\n"),
        FileEdit(Path("pkg/b.py"), (root / "pkg/b.py").read_bytes(), b"B = 20\n"),
        FileEdit(Path("pkg/new/deep/d.py"), None, b"D = 4\n"),
        FileEdit(Path("pkg/c.py"), (root / "pkg/c.py").read_bytes(), b"C = 30\n"),
    ]


def test_commit_writes_all_and_records_manifest(root: Path) -> None:
    edits = edits_for(root)
    path = commit_edits(root, edits, {"patch_json": "p.json"})
    assert path == root / MANIFEST_DIR / "manifest.json"
    for edit in edits:
        assert (root / edit.path).read_bytes() == edit.new
    manifest = json.loads(path.read_text())
    assert manifest["meta"] == {"patch_json": "p.json"}
    assert manifest["run_id"] and manifest["time"]
    files = {f["path"]: f for f in manifest["files"]}
    assert set(files) == {"pkg/a.py", "pkg/b.py", "pkg/new/deep/d.py", "pkg/c.py"}
    assert files["pkg/new/deep/d.py"]["created"] is True
    assert files["pkg/new/deep/d.py"]["sha256_before"] is None
    assert files["pkg/a.py"]["created"] is False
    assert files["pkg/a.py"]["sha256_before"] == transaction.sha256(edits[0].original)
    assert files["pkg/a.py"]["sha256_after"] == transaction.sha256(edits[0].new)
    backup = root / MANIFEST_DIR / "backups" / manifest["run_id"] / "pkg" / "a.py"
    assert backup.read_bytes() == edits[0].original
    # no temp files left next to the sources
    assert not [p for p in root.rglob("*.pmtmp")]


# the replaces of a commit: 3 backups, the journal, 4 tree files, the run's manifest, manifest.json
REPLACED = [
    ".patchmerge/backups/*/pkg/a.py",
    ".patchmerge/backups/*/pkg/b.py",
    ".patchmerge/backups/*/pkg/c.py",
    ".patchmerge/journal.json",
    "pkg/a.py",
    "pkg/b.py",
    "pkg/new/deep/d.py",
    "pkg/c.py",
    ".patchmerge/manifests/*.json",
    ".patchmerge/manifest.json",
]


@pytest.mark.parametrize("fail_on", range(1, len(REPLACED) + 1))
def test_failure_on_nth_replace_names_the_file_and_leaves_tree_identical(root: Path, monkeypatch, fail_on) -> None:
    before = snapshot(root)
    fail_os_replace(monkeypatch, fail_on, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(TransactionError) as info:
        commit_edits(root, edits_for(root), {})
    monkeypatch.undo()
    shown, _, rest = str(info.value).removeprefix("cannot write ").partition(": ")
    assert fnmatch.fnmatch(shown, REPLACED[fail_on - 1]), str(info.value)
    assert rest == "no space left on the device; nothing was written, the tree is as it was"
    assert tree_only(root) == before
    assert not (root / MANIFEST_DIR / "manifest.json").exists()
    assert not list((root / MANIFEST_DIR).rglob("*.json"))
    with pytest.raises(NothingToUndoError):
        undo_last(root)


@pytest.mark.parametrize("interrupt_on", [3, 4, 6, 9, 10])
def test_keyboard_interrupt_mid_way_leaves_tree_identical(root: Path, monkeypatch, interrupt_on: int) -> None:
    before = snapshot(root)
    fail_os_replace(monkeypatch, interrupt_on, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        commit_edits(root, edits_for(root), {})
    monkeypatch.undo()
    assert tree_only(root) == before
    assert not list((root / MANIFEST_DIR).rglob("*.json"))


def test_failure_keeps_the_previous_runs_manifest(root: Path, monkeypatch) -> None:
    commit_edits(root, edits_for(root)[:1], {"run": 1})
    manifest_before = (root / MANIFEST_DIR / "manifest.json").read_bytes()
    before = snapshot(root)
    fail_os_replace(monkeypatch, 5, OSError(errno.EIO, "Input/output error"))  # 2 backups, journal, b.py, c.py
    second = [FileEdit(Path("pkg/b.py"), b"B = 2\n", b"B = 5\n"), FileEdit(Path("pkg/c.py"), b"C = 3", b"C = 6")]
    with pytest.raises(TransactionError) as info:
        commit_edits(root, second, {"run": 2})
    assert str(info.value) == "cannot write pkg/c.py: Input/output error; nothing was written, the tree is as it was"
    monkeypatch.undo()
    assert snapshot(root) == before
    assert (root / MANIFEST_DIR / "manifest.json").read_bytes() == manifest_before


def test_changed_file_is_a_conflict_and_nothing_is_written(root: Path) -> None:
    edits = edits_for(root)
    (root / "pkg/b.py").write_bytes(b"B = 'changed by someone'\n")
    before = snapshot(root)
    with pytest.raises(MergeConflictError, match="pkg/b.py") as info:
        commit_edits(root, edits, {})
    assert isinstance(info.value, PatchmergeError) and info.value.exit_code == 2
    assert snapshot(root) == before


def test_created_file_that_now_exists_is_a_conflict(root: Path) -> None:
    (root / "pkg/new.py").write_bytes(b"x = 1\n")
    with pytest.raises(MergeConflictError, match="pkg/new.py"):
        commit_edits(root, [FileEdit(Path("pkg/new.py"), None, b"y = 2\n")], {})


@pytest.mark.parametrize("bad", [".patchmerge/manifest.json", "../outside.py", "/abs/path.py"])
def test_bad_edit_paths_are_refused(root: Path, bad: str) -> None:
    before = snapshot(root)
    with pytest.raises(TransactionError):
        commit_edits(root, [FileEdit(Path(bad), None, b"x\n")], {})
    assert snapshot(root) == before


def test_hard_linked_copy_outside_keeps_old_content(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "pristine_a.py"
    os.link(root / "pkg/a.py", outside)
    old = outside.read_bytes()
    commit_edits(root, edits_for(root), {})
    assert (root / "pkg/a.py").read_bytes() == b"def a():\n    return 10\n"
    assert outside.read_bytes() == old
    undo_last(root)
    assert outside.read_bytes() == old


def test_file_mode_is_kept(root: Path) -> None:
    os.chmod(root / "pkg/a.py", 0o751)
    os.chmod(root / "pkg/b.py", 0o640)
    commit_edits(root, edits_for(root), {})
    assert stat.S_IMODE(os.stat(root / "pkg/a.py").st_mode) == 0o751
    assert stat.S_IMODE(os.stat(root / "pkg/b.py").st_mode) == 0o640
    # a created file gets an ordinary mode, not mkstemp's 0600
    assert stat.S_IMODE(os.stat(root / "pkg/new/deep/d.py").st_mode) == 0o666 & ~os_umask()
    undo_last(root)
    assert stat.S_IMODE(os.stat(root / "pkg/a.py").st_mode) == 0o751


def os_umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_undo_restores_byte_for_byte(root: Path) -> None:
    before = snapshot(root)
    commit_edits(root, edits_for(root), {})
    restored = undo_last(root)
    assert sorted(p.as_posix() for p in restored) == ["pkg/a.py", "pkg/b.py", "pkg/c.py", "pkg/new/deep/d.py"]
    assert tree_only(root) == before  # created file and its folders are gone too
    assert not (root / MANIFEST_DIR / "manifest.json").exists()
    with pytest.raises(NothingToUndoError):
        undo_last(root)


def test_undo_twice_undoes_two_merges_in_reverse(root: Path) -> None:
    original = snapshot(root)
    commit_edits(root, edits_for(root), {"run": 1})
    after_first = tree_only(root)
    second = [
        FileEdit(Path("pkg/a.py"), b"def a():\n    return 10\n", b"def a():\n    return 100\n"),
        FileEdit(Path("pkg/e.py"), None, b"E = 5\n"),
    ]
    commit_edits(root, second, {"run": 2})
    manifests = sorted((root / MANIFEST_DIR / "manifests").glob("*.json"))
    assert len(manifests) == 2
    assert json.loads((root / MANIFEST_DIR / "manifest.json").read_text())["meta"] == {"run": 2}

    assert [p.as_posix() for p in undo_last(root)] == ["pkg/a.py", "pkg/e.py"]
    assert tree_only(root) == after_first
    assert json.loads((root / MANIFEST_DIR / "manifest.json").read_text())["meta"] == {"run": 1}
    undo_last(root)
    assert tree_only(root) == original
    with pytest.raises(NothingToUndoError):
        undo_last(root)


def test_undo_conflict_names_the_file_unless_forced(root: Path) -> None:
    before = snapshot(root)
    commit_edits(root, edits_for(root), {})
    (root / "pkg/b.py").write_bytes(b"B = 'hand edit'\n")
    with pytest.raises(UndoConflictError, match="pkg/b.py") as info:
        undo_last(root)
    assert info.value.exit_code == 2
    assert (root / "pkg/b.py").read_bytes() == b"B = 'hand edit'\n"  # nothing restored
    assert (root / "pkg/a.py").read_bytes() == b"def a():\n    return 10\n"
    undo_last(root, force=True)
    assert tree_only(root) == before


@pytest.mark.parametrize("interrupt_on", [2, 3, 4])  # the journal, then the restores
def test_interrupted_undo_puts_back_what_it_restored(root: Path, monkeypatch, interrupt_on) -> None:
    before = snapshot(root)
    commit_edits(root, edits_for(root), {})
    merged = snapshot(root)
    fail_os_replace(monkeypatch, interrupt_on, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        undo_last(root)
    monkeypatch.undo()
    assert snapshot(root) == merged
    undo_last(root)
    assert tree_only(root) == before


def test_undo_refused_write_names_the_file_and_undoes_nothing(root: Path, monkeypatch) -> None:
    commit_edits(root, edits_for(root), {})
    merged = snapshot(root)
    fail_os_replace(monkeypatch, 3, PermissionError(errno.EACCES, "Permission denied"))  # journal, a.py, b.py
    with pytest.raises(TransactionError) as info:
        undo_last(root)
    monkeypatch.undo()
    assert str(info.value) == "cannot write pkg/b.py: permission denied; nothing was undone, the tree is as it was"
    assert snapshot(root) == merged


def test_nothing_to_undo(tmp_path: Path) -> None:
    with pytest.raises(NothingToUndoError, match=MANIFEST_DIR):
        undo_last(tmp_path)


def test_no_changes_records_no_run(root: Path) -> None:
    same = [FileEdit(Path("pkg/b.py"), b"B = 2\n", b"B = 2\n")]
    commit_edits(root, same, {})
    assert not (root / MANIFEST_DIR).exists()


def test_a_merge_that_only_creates_files_is_recorded_and_undone(tmp_path: Path) -> None:
    commit_edits(tmp_path, [FileEdit(Path("pkg/new.py"), None, b"x = 1\n")], {})
    assert (tmp_path / "pkg/new.py").read_bytes() == b"x = 1\n"
    assert [p.as_posix() for p in undo_last(tmp_path)] == ["pkg/new.py"]
    assert tree_only(tmp_path) == {}
