import subprocess
from pathlib import Path

import pytest

from patchmerge.fusion.diff import diff_stat, unified_diff
from patchmerge.fusion.model import FileEdit

MODIFIED = FileEdit(Path("Megatron-LM/megatron/core/layers.py"), b"a\nb\nc\n", b"a\nB\nc\nd\n")
CREATED = FileEdit(Path("Megatron-LM/megatron/core/new.py"), None, b"x = 1\ny = 2\n")


def test_modified_file_has_git_headers_and_hunk() -> None:
    text = unified_diff([MODIFIED])
    assert text.splitlines() == [
        "diff --git a/Megatron-LM/megatron/core/layers.py b/Megatron-LM/megatron/core/layers.py",
        "--- a/Megatron-LM/megatron/core/layers.py",
        "+++ b/Megatron-LM/megatron/core/layers.py",
        "@@ -1,3 +1,4 @@",
        " a",
        "-b",
        "+B",
        " c",
        "+d",
    ]


def test_created_file_comes_from_dev_null() -> None:
    text = unified_diff([CREATED])
    assert text.splitlines() == [
        "diff --git a/Megatron-LM/megatron/core/new.py b/Megatron-LM/megatron/core/new.py",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/Megatron-LM/megatron/core/new.py",
        "@@ -0,0 +1,2 @@",
        "+x = 1",
        "+y = 2",
    ]


def test_missing_final_newline_is_marked_and_bad_utf8_replaced() -> None:
    edit = FileEdit(Path("m.py"), b"a\nb", b"a\nb\n\xff\n")
    lines = unified_diff([edit]).splitlines()
    assert lines[-4:] == ["-b", "\\ No newline at end of file", "+b", "+\ufffd"]


def test_unchanged_edits_and_no_edits_give_nothing() -> None:
    same = FileEdit(Path("s.py"), b"x\n", b"x\n")
    assert unified_diff([same]) == ""
    assert unified_diff([]) == ""
    assert diff_stat([same]) == ""


def test_only_newline_splits_lines() -> None:
    # \x0c (form feed) is a line break for str.splitlines but not for git
    edit = FileEdit(Path("f.py"), b"a\x0cb\n", b"a\x0cc\n")
    assert unified_diff([edit]).split("\n")[-3:] == ["-a\x0cb", "+a\x0cc", ""]


def test_diff_stat_counts_per_file_and_total() -> None:
    text = diff_stat([MODIFIED, CREATED])
    assert text.splitlines() == [
        " Megatron-LM/megatron/core/layers.py | 3 ++-",
        " Megatron-LM/megatron/core/new.py    | 2 ++",
        " 2 files changed, 4 insertions(+), 1 deletion(-)",
    ]


def test_diff_stat_singular_and_only_deletions() -> None:
    edit = FileEdit(Path("a.py"), b"x\ny\n", b"x\n")
    assert diff_stat([edit]).splitlines() == [" a.py | 1 -", " 1 file changed, 1 deletion(-)"]


def test_diff_stat_scales_long_bars() -> None:
    edit = FileEdit(Path("big.py"), b"", b"".join(b"line %d\n" % i for i in range(500)))
    first = diff_stat([edit]).splitlines()[0]
    assert first.startswith(" big.py | 500 +")
    assert first.count("+") == 50


def test_diff_applies_with_git_apply(tmp_path: Path) -> None:
    git = subprocess.run(["git", "--version"], capture_output=True, check=False)
    if git.returncode != 0:
        pytest.skip("git not available")
    (tmp_path / "Megatron-LM/megatron/core").mkdir(parents=True)
    (tmp_path / MODIFIED.path).write_bytes(MODIFIED.original)
    edit = FileEdit(Path("n.py"), b"a\nb", b"a\nc")
    (tmp_path / "n.py").write_bytes(edit.original)
    patch = tmp_path / "merge.diff"
    patch.write_text(unified_diff([MODIFIED, CREATED, edit]), encoding="utf-8")
    subprocess.run(["git", "apply", "--unsafe-paths", str(patch)], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / MODIFIED.path).read_bytes() == MODIFIED.new
    assert (tmp_path / CREATED.path).read_bytes() == CREATED.new
    assert (tmp_path / "n.py").read_bytes() == edit.new
