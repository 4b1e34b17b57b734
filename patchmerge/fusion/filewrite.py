"""Durable file replacement, and write failures told as the file and the cause a user can act on."""

from __future__ import annotations

import array
import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

from patchmerge.errors import PatchmergeError

TEMP_SUFFIX = ".pmtmp"
_FS_IOC_GETFLAGS = 0x80086601  # Linux: the inode flags `lsattr` shows
_FS_IMMUTABLE_FL = 0x10
_FS_APPEND_FL = 0x20


class TransactionError(PatchmergeError):
    """The merge could not be written (bad edit, unreadable file, a write refused, incomplete rollback)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_bytes(path: Path, *, strict: bool = False) -> bytes | None:
    """The file's bytes, or None when it does not exist (strict: other read errors propagate)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        if strict:
            raise
        return None


def temp_prefix(path: Path) -> str:
    """Temp files of `path` are `.NAME.<random>.pmtmp` beside it, so a recovery can find and remove them."""
    return f".{path.name}."


def atomic_write(path: Path, data: bytes, mode: int | None) -> None:
    """Replace `path` by a new file holding `data` (a new inode: hard links elsewhere keep the old bytes).
    The data is on disk before the rename; the rename is made durable by `fsync_dir` of the folder."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes 0600 files; a created file gets the usual umask-based mode instead
        os.chmod(temp, mode if mode is not None else 0o666 & ~umask())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def fsync_dir(folder: Path) -> None:
    """Make the renames and unlinks in `folder` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def cannot_write(root: Path, path: Path, exc: OSError, *, what: str = "write") -> TransactionError:
    """'cannot write REL: CAUSE' for a write refused by the system (REL relative to ROOT_DIR when inside it)."""
    return TransactionError(f"cannot {what} {_shown(root, path)}: {write_cause(path, exc)}")


def write_cause(path: Path, exc: OSError) -> str:
    """Why the system refused to replace `path`, in the terms of what the user can do about it."""
    folder = path.parent
    number = exc.errno
    if number == errno.EPERM:
        for place in (path, folder):
            flags = _inode_flags(place)
            kind = "folder" if place.is_dir() else "file"
            if flags & _FS_IMMUTABLE_FL:
                return f"the {kind} is immutable (`chattr -i {place}` lifts it)"
            if flags & _FS_APPEND_FL:
                return f"the {kind} is append-only (`chattr -a {place}` lifts it)"
        return "operation not permitted (an immutable or append-only file or folder, or a filesystem that refuses it)"
    if number == errno.EACCES:
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"permission denied: the folder {folder} is read-only for this user"
        return "permission denied"
    if number == errno.EROFS:
        return "the filesystem is read-only"
    if number == errno.ENOSPC:
        return "no space left on the device"
    if number == errno.EDQUOT:
        return "the disk quota is exceeded"
    return exc.strerror or str(exc)


def _inode_flags(path: Path) -> int:
    """The file's chattr flags; 0 where they cannot be read (not Linux, not a filesystem that has them)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return 0
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, _FS_IOC_GETFLAGS, flags, True)
        return flags[0]
    except OSError:
        return 0
    finally:
        os.close(fd)


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
