"""All-or-nothing writes of a merge, with a manifest and backups so `undo` can restore the tree byte for byte.

Layout under ROOT_DIR/.patchmerge/:
    manifests/<run-id>.json   one manifest per merge, oldest first (run ids start with a sequence number)
    manifest.json             a copy of the last run's manifest (what outside scripts read)
    backups/<run-id>/<path>   the original bytes of every file that run changed

Files are always replaced through a temp file in the same folder + os.replace, never written in place: a tree
may be a hard-linked copy of originals kept elsewhere, and an in-place write would change those too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from patchmerge.errors import PatchmergeError
from patchmerge.fusion.model import FileEdit

MANIFEST_DIR = ".patchmerge"
MANIFEST_NAME = "manifest.json"
HISTORY_DIR = "manifests"
BACKUP_DIR = "backups"


class TransactionError(PatchmergeError):
    """The merge could not be written (bad edit, unreadable file, incomplete rollback)."""


class MergeConflictError(TransactionError):
    """A file changed on disk between reading it and writing the merge."""


class UndoConflictError(TransactionError):
    """Files edited by hand since the merge: undo would throw those edits away."""


class NothingToUndoError(TransactionError):
    """No merge is recorded under ROOT_DIR/.patchmerge."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def commit_edits(root: Path, edits: Sequence[FileEdit], meta: dict[str, Any]) -> Path:
    """Write every edit or none; record the run for `undo`. Returns the path of manifest.json.

    Edits whose new bytes equal the original are not writes and are dropped; with nothing left to write no run
    is recorded (so a re-run on a merged tree does not add an empty step to the undo history).
    """
    state = root / MANIFEST_DIR
    changes = [e for e in _checked(root, edits) if e.new != e.original]
    if not changes:
        return state / MANIFEST_NAME
    modes = {e.path: _current_mode(root, e) for e in changes}

    history = state / HISTORY_DIR
    run_id = _next_run_id(history)
    backups = state / BACKUP_DIR / run_id
    previous_last = _read_bytes(state / MANIFEST_NAME)
    entries = [_entry(e, modes[e.path]) for e in changes]
    _plan_created_dirs(root, changes, entries)
    manifest = {"run_id": run_id, "time": datetime.now(UTC).isoformat(), "meta": meta, "files": entries}
    replaced: list[FileEdit] = []
    made_dirs: list[Path] = []
    try:
        for edit in changes:
            if edit.original is not None:
                target = backups / edit.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(edit.original)
        # the record goes down before any source file changes, so even a killed run can be undone
        text = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        history.mkdir(parents=True, exist_ok=True)
        _atomic_write(history / f"{run_id}.json", text, None)
        _atomic_write(state / MANIFEST_NAME, text, None)
        for edit, entry in zip(changes, entries, strict=True):
            for folder in entry["created_dirs"]:
                (root / folder).mkdir()
                made_dirs.append(root / folder)
            _atomic_write(root / edit.path, edit.new, modes[edit.path])
            replaced.append(edit)
    except BaseException as exc:  # KeyboardInterrupt included: the tree must go back as it was
        _roll_back(root, replaced, modes, made_dirs, run_id, previous_last, exc)
        raise
    return state / MANIFEST_NAME


def undo_last(root: Path, *, force: bool = False) -> list[Path]:
    """Restore the files of the last merge and drop it from the history. Returns the restored relative paths.

    Resumable: a file already back to its "before" bytes is skipped, and the run leaves the history only once
    every file is restored, so an interrupted undo can simply be run again.
    """
    state = root / MANIFEST_DIR
    runs = _runs(state / HISTORY_DIR)
    if not runs:
        raise NothingToUndoError("no merge recorded to undo", where=str(state))
    run_file = runs[-1]
    try:
        manifest = json.loads(run_file.read_text(encoding="utf-8"))
        entries: list[dict[str, Any]] = manifest["files"]
        run_id: str = manifest["run_id"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TransactionError(f"unreadable undo manifest: {exc}", where=str(run_file)) from None
    backups = state / BACKUP_DIR / run_id

    to_restore: list[dict[str, Any]] = []
    conflicts: list[str] = []
    for entry in entries:
        current = _read_bytes(root / entry["path"])
        digest = None if current is None else sha256(current)
        if digest == entry["sha256_before"]:
            continue  # already as before the merge
        if digest != entry["sha256_after"]:
            conflicts.append(entry["path"])
        to_restore.append(entry)
    if conflicts and not force:
        raise UndoConflictError(
            f"changed since the merge (edited by hand?): {', '.join(conflicts)}; "
            "undo --force restores them anyway and loses those changes",
            where=conflicts[0],
        )

    for entry in to_restore:
        path = root / entry["path"]
        if entry["created"]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        original = _read_bytes(backups / entry["path"])
        if original is None or sha256(original) != entry["sha256_before"]:
            raise TransactionError("backup missing or damaged; cannot restore", where=entry["path"])
        _atomic_write(path, original, entry.get("mode"))
    for entry in reversed(entries):  # innermost folders were recorded last
        for folder in reversed(entry.get("created_dirs", [])):
            with contextlib.suppress(OSError):  # kept when something else was put there since
                (root / folder).rmdir()

    # drop the run: manifest.json now describes the run before it, or goes away
    _drop_run(state, run_id)
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
            current = _read_bytes(path, strict=True)
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


def _read_bytes(path: Path, *, strict: bool = False) -> bytes | None:
    """The file's bytes, or None when it does not exist (strict: other read errors propagate)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        if strict:
            raise
        return None


def _atomic_write(path: Path, data: bytes, mode: int | None) -> None:
    """Replace `path` by a new file holding `data` (a new inode: hard links elsewhere keep the old bytes)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".pmtmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes 0600 files; a created file gets the usual umask-based mode instead
        os.chmod(temp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


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


def _roll_back(
    root: Path,
    replaced: list[FileEdit],
    modes: dict[Path, int | None],
    made_dirs: list[Path],
    run_id: str,
    previous_last: bytes | None,
    cause: BaseException,
) -> None:
    """Undo a failed commit. Keeps the backups and manifest when a restore fails, so nothing is lost."""
    failed: list[str] = []
    for edit in reversed(replaced):
        try:
            if edit.original is None:
                (root / edit.path).unlink()
            else:
                _atomic_write(root / edit.path, edit.original, modes[edit.path])
        except BaseException:  # keep restoring the rest, even through a second Ctrl-C
            failed.append(Path(edit.path).as_posix())
    if failed:
        state = root / MANIFEST_DIR
        raise TransactionError(
            f"merge failed ({cause!r}) and these files could not be restored: {', '.join(failed)}; "
            f"their originals are in {state / BACKUP_DIR / run_id}; run `patchmerge undo --force`",
            where=failed[0],
        ) from cause
    for folder in reversed(made_dirs):
        with contextlib.suppress(OSError):
            folder.rmdir()
    state = root / MANIFEST_DIR
    with contextlib.suppress(OSError):
        (state / HISTORY_DIR / f"{run_id}.json").unlink(missing_ok=True)
        if previous_last is None:
            (state / MANIFEST_NAME).unlink(missing_ok=True)
        else:
            _atomic_write(state / MANIFEST_NAME, previous_last, None)
    shutil.rmtree(state / BACKUP_DIR / run_id, ignore_errors=True)


def _runs(history: Path) -> list[Path]:
    """Recorded runs, oldest first (by the sequence number that starts each run id)."""
    if not history.is_dir():
        return []
    runs = [p for p in history.glob("*.json") if p.name.split("-", 1)[0].isdigit()]
    return sorted(runs, key=lambda p: int(p.name.split("-", 1)[0]))


def _next_run_id(history: Path) -> str:
    runs = _runs(history)
    sequence = int(runs[-1].name.split("-", 1)[0]) + 1 if runs else 1
    return f"{sequence:04d}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"


def _drop_run(state: Path, run_id: str) -> None:
    (state / HISTORY_DIR / f"{run_id}.json").unlink(missing_ok=True)
    shutil.rmtree(state / BACKUP_DIR / run_id, ignore_errors=True)
    runs = _runs(state / HISTORY_DIR)
    if runs:
        _atomic_write(state / MANIFEST_NAME, runs[-1].read_bytes(), None)
    else:
        (state / MANIFEST_NAME).unlink(missing_ok=True)
