"""`--log-file` arguments: files, folders, globs; an argument that names nothing is an error."""

from __future__ import annotations

import re

import pytest

from patchmerge.coverage.inputs import LogInputError, expand_log_args
from tests.coverage.conftest import write_log


@pytest.fixture
def logs(tmp_path):
    for name in ("a/worker_10.log", "a/worker_2.log", "a/sub/worker_1.log", "a/notes.txt", "b/x.log"):
        write_log(tmp_path / name, "noise")
    return tmp_path


def names(paths, base):
    return [p.relative_to(base).as_posix() for p in paths]


def test_folder_takes_every_log_inside_recursively_in_natural_order(logs):
    assert names(expand_log_args([str(logs / "a")]), logs) == [
        "a/sub/worker_1.log",
        "a/worker_2.log",
        "a/worker_10.log",
    ]


def test_glob_and_file_and_duplicates(logs):
    found = expand_log_args([str(logs / "a" / "worker_*.log"), str(logs / "b" / "x.log"), str(logs / "a")])
    assert names(found, logs) == ["a/worker_2.log", "a/worker_10.log", "b/x.log", "a/sub/worker_1.log"]
    assert names(expand_log_args([str(logs / "**" / "worker_1.log")]), logs) == ["a/sub/worker_1.log"]


def test_a_file_of_any_name_is_taken_as_given(logs):
    assert names(expand_log_args([str(logs / "a" / "notes.txt")]), logs) == ["a/notes.txt"]


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("missing.log", "log file not found: "),
        ("a/nothing_*.log", "no log file matches "),
        ("empty", "no *.log file in folder "),
    ],
)
def test_arguments_naming_nothing(logs, arg, message):
    (logs / "empty").mkdir()
    with pytest.raises(LogInputError, match=re.escape(message)):
        expand_log_args([str(logs / "a" / "worker_2.log"), str(logs / arg)])


def test_glob_matching_an_empty_folder_among_others_is_fine(logs):
    (logs / "c").mkdir()
    assert names(expand_log_args([str(logs / "[bc]")]), logs) == ["b/x.log"]
