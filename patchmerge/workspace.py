"""Workspaces: a throw-away ROOT_DIR for one check or bisect step that costs almost nothing to make.

Each source root starts as one symbolic link to the original. Before a merge writes a file, `materialise` turns
every linked folder on its path into a real folder whose files are hard links (copies across filesystems) and
whose sub-folders are again symbolic links. The merge then replaces files by atomic rename, which gives them a
new inode, so the originals are never written. Only the folders on the way to a rewritten file are ever built.
What the workspace holds is recorded in `workspace.json` at its top.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from patchmerge.errors import PatchmergeError
from patchmerge.markers import STATE_DIR

RECORD = "workspace.json"
# not carried into a workspace: the source tree's own merge state, and Python's caches
NOT_LINKED = frozenset({STATE_DIR, "__pycache__"})


class WorkspaceError(PatchmergeError):
    """A workspace that cannot be made where it was asked for."""


@dataclass
class Workspace:
    path: Path  # the workspace ROOT_DIR
    origin: Path  # the ROOT_DIR it stands for
    roots: tuple[str, ...]
    materialised_dirs: list[str] = field(default_factory=list)
    hard_links: int = 0
    copies: int = 0  # files copied because a hard link was refused (another filesystem, a quota...)
    fresh_dirs: list[str] = field(default_factory=list)  # real, empty folders for a script to write in
    private_dirs: list[str] = field(default_factory=list)  # real folders whose files are copies, not links
    copied_dirs: list[str] = field(default_factory=list)  # whole copies of the original folder

    def materialise(self, relative: Path | str) -> None:
        """Make the folder holding `relative` (a file path under the workspace) real, and every folder above it,
        so that writing that file cannot reach the original tree."""
        leaf = self._real_parents(relative)
        if leaf.is_symlink() and leaf.is_dir():
            self._unlink_folder(leaf)

    def private_dir(self, relative: str) -> Path:
        """A real folder at `relative` holding copies of the original's files (not links), its sub-folders
        still links: a script may append to or rewrite its files without reaching the original. For the
        folder a model script runs in."""
        folder = self._real_parents(relative)
        if folder.is_symlink():
            self._unlink_folder(folder, copy_files=True)
        elif folder.is_dir():
            for entry in os.scandir(folder):
                if entry.is_file(follow_symlinks=False):  # linked before: replace each link by a copy
                    data = Path(entry.path).read_bytes()
                    os.unlink(entry.path)
                    Path(entry.path).write_bytes(data)
        if relative not in self.private_dirs:
            self.private_dirs.append(relative)
        return folder

    def copy_dir(self, relative: str) -> Path:
        """A real folder at `relative` that is a full copy of the original's (a folder a script writes into)."""
        folder = self._real_parents(relative)
        if folder.is_symlink():
            original = folder.parent / os.readlink(folder)
            folder.unlink()
            shutil.copytree(original, folder, symlinks=True)
            self.copied_dirs.append(relative)
        return folder

    def linked_dirs(self, relative: str) -> list[Path]:
        """The originals of the linked sub-folders of a real workspace folder."""
        folder = self.path / relative
        return [Path(e.path).resolve() for e in os.scandir(folder) if e.is_symlink() and e.is_dir()]

    def fresh_dir(self, relative: str) -> Path:
        """A real folder at `relative` with nothing of the original in it (a script's log folder)."""
        folder = self._real_parents(relative)
        if folder.is_symlink():
            folder.unlink()
        elif folder.is_dir():  # made real earlier: it holds links to the original's files, which must go
            shutil.rmtree(folder)
        folder.mkdir()
        self.fresh_dirs.append(relative)
        return folder

    def _real_parents(self, relative: Path | str) -> Path:
        parts = Path(relative).parts
        if not parts or Path(relative).is_absolute() or ".." in parts:
            raise WorkspaceError(f"not a path inside the workspace: {relative}")
        here = self.path
        for part in parts[:-1]:
            here = here / part
            if here.is_symlink():
                self._unlink_folder(here)
            elif not here.exists():
                here.mkdir()
        return here / parts[-1]

    def _unlink_folder(self, folder: Path, *, copy_files: bool = False) -> None:
        original = folder.parent / os.readlink(folder)  # a relative link is relative to its own folder
        folder.unlink()
        folder.mkdir()
        for entry in os.scandir(original):
            if entry.name in NOT_LINKED:
                continue
            destination = folder / entry.name
            if entry.is_dir(follow_symlinks=False):
                destination.symlink_to(entry.path, target_is_directory=True)
            elif entry.is_symlink():
                destination.symlink_to(os.readlink(entry.path))
            elif copy_files:
                shutil.copy2(entry.path, destination)
                self.copies += 1
            else:
                self._link_file(Path(entry.path), destination)
        self.materialised_dirs.append(folder.relative_to(self.path).as_posix())

    def _link_file(self, source: Path, destination: Path) -> None:
        try:
            os.link(source, destination)
            self.hard_links += 1
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES, errno.ENOTSUP):
                raise
            shutil.copy2(source, destination)
            self.copies += 1

    def save(self) -> None:
        """Record what the workspace holds (call after materialising: once, not per folder)."""
        record = {
            "origin": str(self.origin),
            "created": datetime.now(UTC).isoformat(),
            "roots": list(self.roots),
            "method": "symbolic links to the original folders; folders on the path of a rewritten file are real, "
            "their files hard links (copies across filesystems), and rewritten files are new files",
            "materialised_dirs": self.materialised_dirs,
            "fresh_dirs": self.fresh_dirs,
            "private_dirs": self.private_dirs,
            "copied_dirs": self.copied_dirs,
            "hard_links": self.hard_links,
            "copies": self.copies,
        }
        (self.path / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def create_workspace(origin: Path, roots: tuple[str, ...], path: Path) -> Workspace:
    """A workspace at `path` (which must not exist or be empty) standing for the ROOT_DIR `origin`."""
    origin = origin.resolve()
    path = path.absolute()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise WorkspaceError(f"workspace folder {path} exists and is not empty")
    if path.resolve() == origin or origin in path.resolve().parents and _inside_root(path.resolve(), origin, roots):
        raise WorkspaceError(f"workspace folder {path} lies inside a source root of {origin}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot make workspace folder {path}: {exc.strerror or exc}") from None
    for root in roots:
        (path / root).parent.mkdir(parents=True, exist_ok=True)
        (path / root).symlink_to(origin / root, target_is_directory=True)
    workspace = Workspace(path=path, origin=origin, roots=roots)
    workspace.save()
    return workspace


def _inside_root(path: Path, origin: Path, roots: tuple[str, ...]) -> bool:
    return any(path == origin / r or (origin / r) in path.parents for r in roots)
