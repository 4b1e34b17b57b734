"""All-or-nothing writes of a merge, with a manifest and backups so `undo` can restore the tree byte for byte.

Where the state lives is in `history`; the journal that makes the replacements safe against a crash, and the
recovery from one, are in `journal`.

Files are always replaced through a temp file in the same folder + os.replace, never written in place: a tree
may be a hard-linked copy of originals kept elsewhere, and an in-place write would change those too.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from patchmerge.fusion.filewrite import TransactionError, cannot_write, fsync_dir, read_bytes, sha256
from patchmerge.fusion.history import (
    BACKUP_DIR,
    HISTORY_DIR,
    JOURNAL_NAME,
    MANIFEST_DIR,
    MANIFEST_NAME,
    drop_run,
    next_run_id,
    runs,
)
from patchmerge.fusion.journal import MERGE, UNDO, Journal, refuse_interrupted, write
from patchmerge.fusion.model import FileEdit

__all__ = [
    "BACKUP_DIR",
    "HISTORY_DIR",
    "JOURNAL_NAME",
    "MANIFEST_DIR",
    "MANIFEST_NAME",
    "MergeConflictError",
    "NothingToUndoError",
    "TransactionError",
    "UndoConflictError",
    "commit_edits",
    "sha256",
    "undo_last",
]


class MergeConflictError(TransactionError):
    """A file changed on disk between reading it and writing the merge."""


class UndoConflictError(TransactionError):
    """Files edited by hand since the merge: undo would throw those edits away."""


class NothingToUndoError(TransactionError):
    """No merge is recorded under ROOT_DIR/.patchmerge."""


def commit_edits(root: Path, edits: Sequence[FileEdit], meta: dict[str, Any]) -> Path:
    """Write every edit or none; record the run for `undo`. Returns the path of manifest.json.

    Edits whose new bytes equal the original are not writes and are dropped; with nothing left to write no run
    is recorded (so a re-run on a merged tree does not add an empty step to the undo history).
    """
    state = root / MANIFEST_DIR
    changes = [e for e in _checked(root, edits) if e.new != e.original]
    if not changes:
        return state / MANIFEST_NAME
    refuse_interrupted(root)  # the commands recover first; this is the last guard
    modes = {e.path: _current_mode(root, e) for e in changes}

    history = state / HISTORY_DIR
    run_id = next_run_id(history)
    entries = [_entry(e, modes[e.path]) for e in changes]
    _plan_created_dirs(root, changes, entries)
    manifest = {"run_id": run_id, "time": datetime.now(UTC).isoformat(), "meta": meta, "files": entries}
    journal = Journal(root, MERGE, run_id, entries)
    try:
        backups = state / BACKUP_DIR / run_id
        for edit in changes:  # on disk before the journal names them
            if edit.original is not None:
                target = backups / edit.path
                _make_folder(root, target.parent)
                write(root, target, edit.original, None)
        for folder in {(backups / e.path).parent for e in changes}:
            fsync_dir(folder)
        journal.begin()
        for edit, entry in zip(changes, entries, strict=True):
            journal.make_dirs(entry["created_dirs"])
            journal.replace(entry["path"], edit.new, modes[edit.path], edit.original)
        text = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        _make_folder(root, history)
        write(root, history / f"{run_id}.json", text, None)
        write(root, state / MANIFEST_NAME, text, None)
        journal.finish()
    except BaseException as exc:  # KeyboardInterrupt included: the tree must go back as it was
        _abandon(journal, exc, "nothing was written, the tree is as it was")
        raise
    return state / MANIFEST_NAME


def undo_last(root: Path, *, force: bool = False) -> list[Path]:
    """Restore the files of the last merge and drop it from the history. Returns the restored relative paths.

    All or nothing too: a failure or Ctrl-C part way puts back what was restored, and a crash is finished by the
    next command from the journal. A file already back to its "before" bytes is skipped.
    """
    state = root / MANIFEST_DIR
    refuse_interrupted(root)  # the command recovers first; this is the last guard
    recorded = runs(state / HISTORY_DIR)
    if not recorded:
        raise NothingToUndoError("no merge recorded to undo", where=str(state))
    run_file = recorded[-1]
    try:
        manifest = json.loads(run_file.read_text(encoding="utf-8"))
        entries: list[dict[str, Any]] = manifest["files"]
        run_id: str = manifest["run_id"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TransactionError(f"unreadable undo manifest: {exc}", where=str(run_file)) from None
    backups = state / BACKUP_DIR / run_id

    to_restore: list[tuple[dict[str, Any], bytes | None, bytes | None]] = []  # entry, current bytes, original
    conflicts: list[str] = []
    for entry in entries:
        current = read_bytes(root / entry["path"])
        digest = None if current is None else sha256(current)
        if digest == entry["sha256_before"]:
            continue  # already as before the merge
        if digest != entry["sha256_after"]:
            conflicts.append(entry["path"])
        original = None if entry["created"] else read_bytes(backups / entry["path"])
        if not entry["created"] and (original is None or sha256(original) != entry["sha256_before"]):
            raise TransactionError("backup missing or damaged; cannot restore", where=entry["path"])
        to_restore.append((entry, current, original))
    if conflicts and not force:
        raise UndoConflictError(
            f"changed since the merge (edited by hand?): {', '.join(conflicts)}; "
            "undo --force restores them anyway and loses those changes",
            where=conflicts[0],
        )

    journal = Journal(root, UNDO, run_id, [entry for entry, _, _ in to_restore])
    try:
        journal.begin()
        for entry, current, original in to_restore:
            journal.replace(entry["path"], original, entry.get("mode"), current)
    except BaseException as exc:
        _abandon(journal, exc, "nothing was undone, the tree is as it was")
        raise
    # every file is restored: from here on a failure leaves the journal, and the next command finishes the undo
    for entry in reversed(entries):  # innermost folders were recorded last
        for folder in reversed(entry.get("created_dirs", [])):
            with contextlib.suppress(OSError):  # kept when something else was put there since
                (root / folder).rmdir()
    try:
        drop_run(state, run_id)  # manifest.json now describes the run before it, or goes away
    except OSError as exc:
        refused = cannot_write(root, Path(exc.filename) if exc.filename else state, exc)
        finish = f"`patchmerge undo {root}` finishes the undo"
        raise TransactionError(f"every file is restored, but {refused}; {finish}") from exc
    journal.finish()
    return [Path(e["path"]) for e in entries]


# -- helpers ----------------------------------------------------------------------------------------------


def _checked(root: Path, edits: Sequence[FileEdit]) -> list[FileEdit]:
    """Refuse edits that are not plain relative paths inside ROOT_DIR, or that touch the manifest folder, and
    edits whose file changed since it was read."""
    if not root.is_dir():
        raise TransactionError("ROOT_DIR is not a folder", where=str(root))
    seen: set[PurePosixPath] = set()
    conflicts: list[str] = []
    for edit in edits:
        rel = PurePosixPath(Path(edit.path).as_posix())
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.parts == (".",):
            raise TransactionError("edit path must be relative to ROOT_DIR and stay inside it", where=str(rel))
        if rel.parts[0] == MANIFEST_DIR:
            raise TransactionError(f"edits may not touch the {MANIFEST_DIR} folder", where=str(rel))
        if rel in seen:
            raise TransactionError("two edits for the same file", where=str(rel))
        seen.add(rel)
        path = root / rel
        if path.is_dir():
            raise TransactionError("is a folder, not a file", where=str(rel))
        try:
            current = read_bytes(path, strict=True)
        except OSError as exc:
            raise TransactionError(f"cannot read: {exc.strerror}", where=str(rel)) from None
        if current != edit.original:
            conflicts.append(str(rel))
    if conflicts:
        raise MergeConflictError(
            f"changed since it was read: {', '.join(conflicts)}; nothing was written, run merge again",
            where=conflicts[0],
        )
    return list(edits)


def _current_mode(root: Path, edit: FileEdit) -> int | None:
    if edit.original is None:
        return None
    return stat.S_IMODE(os.stat(root / edit.path).st_mode)


def _entry(edit: FileEdit, mode: int | None) -> dict[str, Any]:
    return {
        "path": Path(edit.path).as_posix(),
        "sha256_before": None if edit.original is None else sha256(edit.original),
        "sha256_after": sha256(edit.new),
        "created": edit.original is None,
        "mode": mode,
    }


def _plan_created_dirs(root: Path, changes: list[FileEdit], entries: list[dict[str, Any]]) -> None:
    """Record, per created file, the missing folders its write will create (outermost first), so undo and
    rollback remove exactly those."""
    claimed: set[Path] = set()
    for edit, entry in zip(changes, entries, strict=True):
        missing: list[Path] = []
        parent = Path(edit.path).parent
        while parent != Path(".") and parent not in claimed and not (root / parent).exists():
            missing.append(parent)
            parent = parent.parent
        claimed.update(missing)
        entry["created_dirs"] = [p.as_posix() for p in reversed(missing)]


def _make_folder(root: Path, folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(root, folder, exc, what="create the folder") from exc


def _abandon(journal: Journal, cause: BaseException, outcome: str) -> None:
    """Put back what a failed merge or undo replaced, forget a merge's run; a refused write is raised as one
    clear error. When some file cannot be put back the journal stays, so the next command finishes the job."""
    failed = journal.revert()
    root = journal.root
    if failed:
        raise TransactionError(
            f"{journal.kind} failed ({cause}) and these files could not be put back: {', '.join(failed)}; "
            f"`patchmerge undo {root}` puts the tree back as it was before the merge once the cause is fixed",
            where=failed[0],
        ) from cause
    if journal.kind == MERGE:
        with contextlib.suppress(OSError):
            drop_run(root / MANIFEST_DIR, journal.run_id)
    if isinstance(cause, TransactionError):
        raise TransactionError(f"{cause}; {outcome}") from cause
