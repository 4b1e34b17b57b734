"""Write refusals told as the file and a cause the user can act on."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from patchmerge.fusion import filewrite
from patchmerge.fusion.filewrite import atomic_write, cannot_write
from tests.conftest import chattr


def refusal(root: Path, path: Path) -> str:
    with pytest.raises(OSError) as info:
        atomic_write(path, b"new\n", None)
    return str(cannot_write(root, path, info.value))


def test_immutable_file_is_named_with_the_command_that_lifts_it(tmp_path: Path) -> None:
    path = tmp_path / "pkg" / "mlp.py"
    path.parent.mkdir()
    path.write_bytes(b"old\n")
    with chattr("i", path):
        message = refusal(tmp_path, path)
    assert message == f"cannot write pkg/mlp.py: the file is immutable (`chattr -i {path}` lifts it)"
    assert path.read_bytes() == b"old\n" and os.listdir(path.parent) == ["mlp.py"]


def test_immutable_folder_is_named(tmp_path: Path) -> None:
    path = tmp_path / "pkg" / "mlp.py"
    path.parent.mkdir()
    path.write_bytes(b"old\n")
    with chattr("i", path.parent):
        message = refusal(tmp_path, path)
    assert message == f"cannot write pkg/mlp.py: the folder is immutable (`chattr -i {path.parent}` lifts it)"
    assert path.read_bytes() == b"old\n"


def test_append_only_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "mlp.py"
    path.write_bytes(b"old\n")
    with chattr("a", path):
        message = refusal(tmp_path, path)
    assert message == f"cannot write mlp.py: the file is append-only (`chattr -a {path}` lifts it)"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_read_only_folder_for_this_user(tmp_path: Path) -> None:
    path = tmp_path / "pkg" / "mlp.py"
    path.parent.mkdir()
    path.write_bytes(b"old\n")
    path.parent.chmod(0o555)
    try:
        message = refusal(tmp_path, path)
    finally:
        path.parent.chmod(0o755)
    assert message == f"cannot write pkg/mlp.py: permission denied: the folder {path.parent} is read-only for this user"


@pytest.mark.parametrize(
    ("number", "cause"),
    [
        (errno.EPERM, "operation not permitted (an immutable or append-only file or folder, or a filesystem that "
         "refuses it)"),
        (errno.EACCES, "permission denied"),
        (errno.EROFS, "the filesystem is read-only"),
        (errno.ENOSPC, "no space left on the device"),
        (errno.EDQUOT, "the disk quota is exceeded"),
        (errno.EIO, os.strerror(errno.EIO)),
    ],
)
def test_each_cause_as_the_user_reads_it(tmp_path: Path, number: int, cause: str) -> None:
    path = tmp_path / "mlp.py"
    path.write_bytes(b"old\n")
    error = OSError(number, os.strerror(number))
    assert str(cannot_write(tmp_path, path, error)) == f"cannot write mlp.py: {cause}"


def test_access_refused_by_a_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # what a non-root user sees on a 0555 folder
    error = PermissionError(errno.EACCES, "Permission denied")
    message = str(cannot_write(tmp_path, tmp_path / "a" / "mlp.py", error))
    folder = tmp_path / "a"
    assert message == f"cannot write a/mlp.py: permission denied: the folder {folder} is read-only for this user"


def test_a_path_outside_root_is_shown_whole(tmp_path: Path) -> None:
    error = OSError(errno.ENOSPC, "No space left on device")
    assert str(cannot_write(tmp_path / "root", tmp_path / "x.py", error)) == (
        f"cannot write {tmp_path / 'x.py'}: no space left on the device"
    )


def test_flags_of_a_missing_file_are_none(tmp_path: Path) -> None:
    assert filewrite._inode_flags(tmp_path / "missing") == 0
