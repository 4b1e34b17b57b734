"""The merge's last check of each written file: it compiles, and it reads no name the file (or the code moved
into it) did not already leave undefined."""

from __future__ import annotations

from pathlib import Path

from patchmerge.fusion.validate import check_file

PATH = Path("megatron/core/ops.py")


def test_a_name_the_fusion_leaves_undefined_is_reported():
    problems = check_file(PATH, "def f():\n    return 1\n", "def f():\n    return helper()\n")
    assert problems == [f"{PATH}: the fusion reads undefined name 'helper'"]


def test_names_undefined_before_the_fusion_are_not_new():
    before = "def f():\n    return missing\n"
    assert check_file(PATH, before, "def f():\n    return missing\n\n\ndef g():\n    return 2\n") == []
    # read once more than before: that read is new
    twice = "def f():\n    return missing\n\n\ndef g():\n    return missing\n"
    assert check_file(PATH, before, twice) == [f"{PATH}: the fusion reads undefined name 'missing'"]


def test_names_undefined_in_the_code_moved_in_come_along_with_it():
    origin = "def patch():\n    return te_checkpoint()\n"
    after = "def f():\n    return te_checkpoint()\n"
    assert check_file(PATH, "def f():\n    return 1\n", after, [origin]) == []
    assert check_file(PATH, "def f():\n    return 1\n", after, [None]) != []


def test_a_file_that_does_not_compile_is_refused():
    (problem,) = check_file(PATH, "x = 1\n", "def f(:\n")
    assert problem.startswith(f"{PATH}: the fused file does not compile: line 1")
