"""The journal that makes the file replacements of a merge, or of an undo, safe against a crash.

Before the first tree file is replaced, ROOT_DIR/.patchmerge/journal.json (written atomically, on disk) lists every
file to be replaced: its hash before and after the merge, and where its backup is (the backups are on disk first).
It goes only once the last file is replaced and the manifest written. A journal found later means the process
died in between (SIGKILL, power loss): `recover` brings every listed file back to its bytes from before the merge
and forgets that run. For an interrupted merge that is a roll back; for an interrupted undo it is finishing it.
Commands that write recover first and say so; commands that only read refuse to work on such a tree.

Testing aid: PATCHMERGE_FAULT_KILL_AFTER_REPLACE=k makes the process SIGKILL itself right after the k-th tree file
a merge or an undo replaces, so that tests can check the recovery from every point. Never set it otherwise.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchmerge.fusion.filewrite import (
    TEMP_SUFFIX,
    TransactionError,
    atomic_write,
    cannot_write,
    fsync_dir,
    read_bytes,
    sha256,
    temp_prefix,
)
from patchmerge.fusion.history import BACKUP_DIR, HISTORY_DIR, JOURNAL_NAME, MANIFEST_DIR, drop_run

FAULT_ENV = "PATCHMERGE_FAULT_KILL_AFTER_REPLACE"
MERGE, UNDO = "merge", "undo"


@dataclass
class Journal:
    """The replacements of one merge or undo. `entries` are manifest entries (path, hashes, mode, created...)."""

    root: Path
    kind: str
    run_id: str
    entries: list[dict[str, Any]]
    done: list[tuple[Path, bytes | None, int | None]] = field(default_factory=list)  # path, previous bytes, mode
    made_dirs: list[Path] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.root / MANIFEST_DIR / JOURNAL_NAME

    def begin(self) -> None:
        backups = Path(MANIFEST_DIR) / BACKUP_DIR / self.run_id
        files = [
            {**entry, "backup": None if entry["created"] else (backups / entry["path"]).as_posix()}
            for entry in self.entries
        ]
        text = json.dumps({"kind": self.kind, "run_id": self.run_id, "files": files}, indent=2) + "\n"
        try:  # a merge that only creates files has written no backup, so no state folder yet
            self.path.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise cannot_write(self.root, self.path.parent, exc, what="create the folder") from exc
        write(self.root, self.path, text.encode("utf-8"), None)
        fsync_dir(self.path.parent)

    def make_dirs(self, folders: list[str]) -> None:
        for folder in folders:
            try:
                (self.root / folder).mkdir()
            except OSError as exc:
                raise cannot_write(self.root, self.root / folder, exc, what="create the folder") from exc
            self.made_dirs.append(self.root / folder)

    def replace(self, relative: str, data: bytes | None, mode: int | None, previous: bytes | None) -> None:
        """Put `data` at `relative` (None: remove the file); `previous` is what a revert puts back."""
        path = self.root / relative
        if data is None:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise cannot_write(self.root, path, exc, what="remove") from exc
        else:
            write(self.root, path, data, mode)
        self.done.append((path, previous, mode))
        if os.environ.get(FAULT_ENV) == str(len(self.done)):
            os.kill(os.getpid(), signal.SIGKILL)

    def revert(self) -> list[str]:
        """Put back every file replaced so far (in this process); the paths that could not be."""
        failed: list[str] = []
        for path, previous, mode in reversed(self.done):
            try:
                if previous is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write(path, previous, mode)
            except BaseException:  # keep restoring the rest, even through a second Ctrl-C
                failed.append(path.relative_to(self.root).as_posix())
        if not failed:
            for folder in reversed(self.made_dirs):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            self.discard()
        return failed

    def finish(self) -> None:
        """The replacements are complete: make them durable, then drop the journal."""
        for folder in {path.parent for path, _, _ in self.done}:
            fsync_dir(folder)
        self.discard()

    def discard(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            raise cannot_write(self.root, self.path, exc, what="remove") from exc
        fsync_dir(self.path.parent)


def write(root: Path, path: Path, data: bytes, mode: int | None) -> None:
    """`atomic_write`, a refusal told as the file and its cause."""
    try:
        atomic_write(path, data, mode)
    except OSError as exc:
        raise cannot_write(root, path, exc) from exc


def read_journal(root: Path) -> dict[str, Any] | None:
    path = root / MANIFEST_DIR / JOURNAL_NAME
    data = read_bytes(path)
    if data is None:
        return None
    try:
        journal = json.loads(data)
        if journal["kind"] not in (MERGE, UNDO) or not isinstance(journal["files"], list):
            raise ValueError(journal["kind"])
        return journal
    except (ValueError, KeyError, TypeError) as exc:
        raise TransactionError(f"damaged journal of an interrupted merge or undo ({exc!r})", where=str(path)) from None


def refuse_interrupted(root: Path) -> None:
    """For commands that only read the tree: a half-written tree is not worked on."""
    journal = read_journal(root)
    if journal is None:
        return
    done, total = _progress(root, journal)
    if journal["kind"] == MERGE:
        what, how = f"an interrupted merge ({done} of {total} files replaced)", "roll it back"
    else:
        what, how = f"an interrupted undo ({done} of {total} files restored)", "finish it"
    raise TransactionError(f"{root} holds {what}: run `patchmerge undo {root}` to {how} first")


def recover(root: Path, *, force: bool = False) -> str | None:
    """Bring the tree of an interrupted merge or undo back to its files before that merge; what was done, or
    None when there was nothing to recover. `force` restores files changed by hand since the interruption too."""
    journal = read_journal(root)
    if journal is None:
        return None
    files: list[dict[str, Any]] = journal["files"]
    done, total = _progress(root, journal)
    state = root / MANIFEST_DIR
    changed = [e["path"] for e in files if _digest(root / e["path"]) not in (e["sha256_before"], e["sha256_after"])]
    if changed and not force:
        raise TransactionError(
            f"found an interrupted {journal['kind']} of {root}, but these files changed since: {', '.join(changed)}; "
            f"their originals are in {state / BACKUP_DIR / journal['run_id']}; `patchmerge undo --force {root}` "
            "restores them over those changes",
            where=changed[0],
        )
    try:
        for entry in reversed(files):
            _restore(root, entry)
    except TransactionError as exc:  # the journal stays: the next run tries again
        raise TransactionError(
            f"found an interrupted {journal['kind']} of {root} but could not restore its files: {exc}; "
            "run the command again once that is fixed"
        ) from exc
    for entry in reversed(files):  # innermost folders were recorded last
        for folder in reversed(entry.get("created_dirs", [])):
            with contextlib.suppress(OSError):  # kept when something else was put there since
                (root / folder).rmdir()
    for folder in {(root / e["path"]).parent for e in files}:
        fsync_dir(folder)
    try:
        drop_run(state, journal["run_id"])
        for folder in (state, state / HISTORY_DIR):  # a killed write of the journal or of a manifest
            for stray in folder.glob(f".*{TEMP_SUFFIX}"):
                stray.unlink(missing_ok=True)
        (state / JOURNAL_NAME).unlink()
    except OSError as exc:  # every file is back; only the record is left to tidy, by the next run
        refused = cannot_write(root, Path(exc.filename) if exc.filename else state, exc)
        raise TransactionError(f"the files of the interrupted {journal['kind']} are restored, but {refused}") from exc
    fsync_dir(state)
    if journal["kind"] == MERGE:
        return (
            f"found an interrupted merge of {root} ({done} of {total} files replaced): rolled back, "
            "the tree is as it was before that merge"
        )
    return (
        f"found an interrupted undo of {root} ({done} of {total} files restored): finished it, "
        f"the tree is as it was before merge {journal['run_id']}"
    )


def _restore(root: Path, entry: dict[str, Any]) -> None:
    """Put one journal entry's file back to its bytes from before the merge."""
    path = root / entry["path"]
    _remove_temp_files(path)
    if _digest(path) == entry["sha256_before"]:
        return
    if entry["created"]:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise cannot_write(root, path, exc, what="remove") from exc
        return
    original = read_bytes(root / entry["backup"])
    if original is None or sha256(original) != entry["sha256_before"]:
        raise TransactionError("backup missing or damaged; cannot restore", where=entry["path"])
    write(root, path, original, entry.get("mode"))


def _progress(root: Path, journal: dict[str, Any]) -> tuple[int, int]:
    """(files already at what the interrupted run was writing, files it was to write)."""
    goal = "sha256_after" if journal["kind"] == MERGE else "sha256_before"
    files = journal["files"]
    return sum(_digest(root / e["path"]) == e[goal] for e in files), len(files)


def _digest(path: Path) -> str | None:
    data = read_bytes(path)
    return None if data is None else sha256(data)


def _remove_temp_files(path: Path) -> None:
    """Temp files a killed write of `path` left beside it."""
    with contextlib.suppress(OSError):
        for stray in path.parent.glob(f"{glob.escape(temp_prefix(path))}*{TEMP_SUFFIX}"):
            stray.unlink(missing_ok=True)
