"""Workspaces: cheap to make, and nothing done inside one reaches the original tree."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest

from patchmerge.fusion.model import FileEdit
from patchmerge.fusion.transaction import commit_edits
from patchmerge.workspace import RECORD, WorkspaceError, create_workspace

ROOTS = ("A", "B")


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    root = tmp_path / "origin"
    for relative in ("A/pkg/__init__.py", "A/pkg/sub/mod.py", "A/pkg/sub/other.py", "A/pkg/deep/x/y.py", "B/b.py"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(f"# {relative}\n", encoding="utf-8")
    return root


def test_a_fresh_workspace_is_links_to_the_roots(origin: Path, tmp_path: Path) -> None:
    ws = create_workspace(origin, ROOTS, tmp_path / "ws")
    assert (ws.path / "A").is_symlink() and (ws.path / "A/pkg/sub/mod.py").read_text() == "# A/pkg/sub/mod.py\n"
    record = json.loads((ws.path / RECORD).read_text())
    assert record["origin"] == str(origin.resolve()) and record["roots"] == list(ROOTS)


def test_merge_writes_in_a_workspace_leave_the_original_untouched(origin: Path, tmp_path: Path) -> None:
    before = snapshot(origin)
    ws = create_workspace(origin, ROOTS, tmp_path / "ws")
    edits = [
        FileEdit(Path("A/pkg/sub/mod.py"), b"# A/pkg/sub/mod.py\n", b"changed\n"),
        FileEdit(Path("A/pkg/new_file.py"), None, b"new\n"),
    ]
    for edit in edits:
        ws.materialise(edit.path)
    ws.save()
    commit_edits(ws.path, edits, {})
    assert (ws.path / "A/pkg/sub/mod.py").read_text() == "changed\n"
    assert (ws.path / "A/pkg/new_file.py").read_text() == "new\n"
    assert snapshot(origin) == before
    # only the folders on the way were built; the others are still links
    assert (ws.path / "A/pkg/deep").is_symlink() and not (ws.path / "A/pkg").is_symlink()
    assert (ws.path / "B").is_symlink()
    assert os.stat(ws.path / "A/pkg/sub/other.py").st_ino == os.stat(origin / "A/pkg/sub/other.py").st_ino
    record = json.loads((ws.path / RECORD).read_text())
    assert record["materialised_dirs"] == ["A", "A/pkg", "A/pkg/sub"] and record["hard_links"] == 3


def test_another_filesystem_falls_back_to_copies(origin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(source: object, destination: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    ws = create_workspace(origin, ROOTS, tmp_path / "ws")
    ws.materialise("A/pkg/sub/mod.py")
    ws.save()
    copied = ws.path / "A/pkg/sub/other.py"
    assert copied.read_text() == "# A/pkg/sub/other.py\n" and not copied.is_symlink()
    assert os.stat(copied).st_ino != os.stat(origin / "A/pkg/sub/other.py").st_ino
    assert json.loads((ws.path / RECORD).read_text())["copies"] == 3


def test_a_fresh_folder_hides_the_original_one(origin: Path, tmp_path: Path) -> None:
    (origin / "B/logs").mkdir()
    (origin / "B/logs/old.log").write_text("stale\n")
    ws = create_workspace(origin, ROOTS, tmp_path / "ws")
    logs = ws.fresh_dir("B/logs")
    assert logs.is_dir() and not logs.is_symlink() and list(logs.iterdir()) == []
    (logs / "new.log").write_text("x")
    assert not (origin / "B/logs/new.log").exists()


def test_no_workspace_over_something_else_or_inside_a_root(origin: Path, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "f").write_text("x")
    with pytest.raises(WorkspaceError, match="not empty"):
        create_workspace(origin, ROOTS, busy)
    with pytest.raises(WorkspaceError, match="inside a source root"):
        create_workspace(origin, ROOTS, origin / "A" / "ws")
    ws = create_workspace(origin, ROOTS, tmp_path / "ws")
    with pytest.raises(WorkspaceError, match="not a path inside"):
        ws.materialise("../escape.py")


def test_the_scripts_folder_holds_copies_so_appends_stay_in_the_workspace(origin: Path, tmp_path: Path) -> None:
    (origin / "B/train.log").write_text("old\n")
    (origin / "B/logs").mkdir()
    (origin / "B/logs/run.log").write_text("old\n")
    before = snapshot(origin)
    ws = create_workspace(origin, ROOTS, tmp_path / "ws")
    ws.materialise("B/b.py")  # as a merge would: hard links first
    ws.private_dir("B")
    ws.copy_dir("B/logs")
    with open(ws.path / "B/train.log", "a") as log:
        log.write("appended\n")
    with open(ws.path / "B/b.py", "a") as source:
        source.write("# appended\n")
    with open(ws.path / "B/logs/run.log", "a") as log:
        log.write("appended\n")
    assert snapshot(origin) == before
    assert (ws.path / "B/logs/run.log").read_text() == "old\nappended\n"


def test_a_relative_link_inside_a_root_is_followed_from_its_own_folder(
    origin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (origin / "A/real").mkdir()
    (origin / "A/real/x.py").write_text("x\n")
    (origin / "A/alias").symlink_to("real", target_is_directory=True)
    monkeypatch.chdir(tmp_path)  # a relative link text must not be read against the working folder
    ws = create_workspace(origin, ROOTS, tmp_path / "ws")
    ws.materialise("A/alias/x.py")
    assert (ws.path / "A/alias/x.py").read_text() == "x\n"
    assert not (ws.path / "A/alias").is_symlink()
