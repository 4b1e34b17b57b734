"""A write the system refuses (immutable file or folder, read-only filesystem, full disk) during `merge` or `undo`:
one message naming the file and the cause, exit 2, and the tree byte for byte as it was."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from patchmerge.cli import main
from patchmerge.commands import merge as merge_command
from tests.conftest import chattr
from tests.read_only import example_copy, read_only_mount

MLP = "Megatron-LM/megatron/core/transformer/mlp.py"
NOTHING_WRITTEN = "; nothing was written, the tree is as it was\n"


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def merge(capsys: pytest.CaptureFixture[str], root: Path) -> tuple[int, str]:
    return run(capsys, "merge", str(root), "--profile", "example")


def refuse_replace(monkeypatch: pytest.MonkeyPatch, number: int, where: Callable[[Path], bool]) -> None:
    """`os.replace` onto a path `where` accepts fails with `number`, as the system would."""
    real = os.replace

    def replace(src, dst):
        if where(Path(dst)):
            raise OSError(number, os.strerror(number), str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return example_copy(tmp_path).resolve()


def test_immutable_file(capsys, root: Path) -> None:
    before = snapshot(root)
    with chattr("i", root / MLP):
        code, err = merge(capsys, root)
    assert code == 2
    cause = f"the file is immutable (`chattr -i {root / MLP}` lifts it)"
    assert err == f"patchmerge: error: cannot write {MLP}: {cause}{NOTHING_WRITTEN}"
    assert snapshot(root) == before


def test_immutable_folder(capsys, root: Path) -> None:
    before = snapshot(root)
    folder = (root / MLP).parent
    with chattr("i", folder):
        code, err = merge(capsys, root)
    assert code == 2
    first = sorted(p.relative_to(root).as_posix() for p in folder.glob("*.py"))  # the first file the merge writes
    assert re.fullmatch(
        rf"patchmerge: error: cannot write ({'|'.join(map(re.escape, first))}): the folder is immutable "
        rf"\(`chattr -i {re.escape(str(folder))}` lifts it\){re.escape(NOTHING_WRITTEN)}",
        err,
    ), err
    assert snapshot(root) == before


def test_read_only_filesystem(capsys, root: Path, tmp_path: Path) -> None:
    before = snapshot(root)
    with read_only_mount(root, tmp_path / "mounted") as mounted:
        code, err = run(capsys, "merge", str(mounted), "--profile", "example", "--report-dir", str(tmp_path / "r"))
    assert code == 2
    assert re.fullmatch(
        r"patchmerge: error: cannot create the folder \.patchmerge/backups/0001-\w+/MindSpeed-LLM/mindspeed_llm/tasks: "
        rf"the filesystem is read-only{re.escape(NOTHING_WRITTEN)}",
        err,
    ), err
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("number", "cause"),
    [
        (errno.ENOSPC, "no space left on the device"),
        (errno.EROFS, "the filesystem is read-only"),
        (errno.EPERM, "operation not permitted (an immutable or append-only file or folder, or a filesystem that "
         "refuses it)"),
    ],
)
def test_refused_replace_part_way(capsys, monkeypatch, root: Path, number: int, cause: str) -> None:
    before = snapshot(root)
    refuse_replace(monkeypatch, number, lambda dst: dst == root / MLP)  # the files written before it are put back
    code, err = merge(capsys, root)
    assert (code, err) == (2, f"patchmerge: error: cannot write {MLP}: {cause}{NOTHING_WRITTEN}")
    assert snapshot(root) == before


def test_full_disk_while_writing_a_backup(capsys, monkeypatch, root: Path) -> None:
    before = snapshot(root)
    refuse_replace(monkeypatch, errno.ENOSPC, lambda dst: ".patchmerge" in dst.parts and dst.match(f"*/{MLP}"))
    code, err = merge(capsys, root)
    assert code == 2
    assert re.fullmatch(
        rf"patchmerge: error: cannot write \.patchmerge/backups/0001-\w+/{re.escape(MLP)}: no space left on the "
        rf"device{re.escape(NOTHING_WRITTEN)}",
        err,
    ), err
    assert snapshot(root) == before


def test_undo_onto_an_immutable_file(capsys, root: Path) -> None:
    pristine = snapshot(root)
    assert merge(capsys, root)[0] == 0
    merged = snapshot(root)
    with chattr("i", root / MLP):
        code, err = run(capsys, "undo", str(root))
    assert code == 2
    assert err == (
        f"patchmerge: error: cannot write {MLP}: the file is immutable (`chattr -i {root / MLP}` lifts it); "
        "nothing was undone, the tree is as it was\n"
    )
    assert snapshot(root) == merged
    assert run(capsys, "undo", str(root))[0] == 0  # once the flag is lifted
    assert {k: v for k, v in snapshot(root).items() if not k.startswith(".patchmerge/")} == pristine


def test_report_folder_that_cannot_be_written_stops_the_merge_first(capsys, root: Path, tmp_path: Path) -> None:
    before = snapshot(root)
    folder = tmp_path / "reports"
    folder.mkdir()
    with chattr("i", folder):
        code, err = run(capsys, "merge", str(root), "--profile", "example", "--report-dir", str(folder / "merge"))
    assert code == 2
    assert err == (
        f"patchmerge: error: cannot write the reports into {folder / 'merge'}: the folder is immutable "
        f"(`chattr -i {folder}` lifts it){NOTHING_WRITTEN}"
    )
    assert snapshot(root) == before


def test_reports_refused_after_the_merge_is_written(capsys, monkeypatch, root: Path) -> None:
    def full_disk(report_dir: Path, *args, **kwargs) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(report_dir / "report.json"))

    monkeypatch.setattr(merge_command, "write_reports", full_disk)
    code, err = merge(capsys, root)
    assert code == 2
    assert err == (
        f"patchmerge: error: the merge is written (undo with: patchmerge undo {root}), but its reports are not: "
        "cannot write .patchmerge/report/report.json: no space left on the device\n"
    )
    assert run(capsys, "undo", str(root))[0] == 0
