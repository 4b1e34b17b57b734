"""The bundled example with CRLF line ends everywhere, and a BOM and coding declaration on a target file and on
the registration file: the merge writes every file in its own form, the fused tree runs, undo gives back the bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchmerge.cli import main
from patchmerge.fusion.source_form import BOM
from tests.example_runs import EXAMPLE, run_reference, run_script

HEADED = ("Megatron-LM/megatron/core/parallel_state.py", "MindSpeed-LLM/mindspeed_llm/tasks/megatron_adaptor.py")
HELPER = "Megatron-LM/megatron/_patchmerge.py"  # created by the merge: plain UTF-8 with "\n"


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".patchmerge" not in p.parts and "__pycache__" not in p.parts
    }


@pytest.fixture
def crlf_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".patchmerge"))
    for path in root.rglob("*.py"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    for relative in HEADED:
        path = root / relative
        path.write_bytes(BOM + b"# -*- coding: utf-8 -*-\r\n" + path.read_bytes())
    return root


def test_crlf_tree_stays_crlf_keeps_boms_runs_and_undoes(crlf_root: Path, capsys) -> None:
    pristine = snapshot(crlf_root)
    assert main(["merge", str(crlf_root), "--profile", "example"]) == 0
    out = capsys.readouterr().out
    merged = snapshot(crlf_root)
    written = [path for path in merged if merged[path] != pristine.get(path)]
    assert "39 fused" in out and f" {len(written)} files changed" in out
    assert set(HEADED) <= set(written) and HELPER in written
    for path in written:
        if path == HELPER:
            assert b"\r" not in merged[path]
            continue
        lines = merged[path].split(b"\n")
        assert lines[-1] == b"" and all(line.endswith(b"\r") for line in lines[:-1]), f"{path}: a line without CRLF"
        assert lines[0].startswith(BOM) == (path in HEADED), path
        assert merged[path].count(BOM) == (path in HEADED)
    for path in HEADED:
        assert merged[path].startswith(BOM + b"# -*- coding: utf-8 -*-\r\n")

    flags = ["--tp-2d", "--mode", "b", "--qlora", "--num-experts", "2"]
    fused_run, reference = run_script(crlf_root, flags, no_patches=True), run_reference(EXAMPLE, flags)
    assert fused_run.returncode == 0 and reference.returncode == 0, fused_run.stderr[-2000:]
    assert fused_run.stdout == reference.stdout

    assert main(["undo", str(crlf_root)]) == 0
    assert capsys.readouterr().out.startswith(f"restored {len(written)} file(s) of the last merge in {crlf_root}\n")
    assert snapshot(crlf_root) == pristine
