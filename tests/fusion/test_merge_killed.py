"""A merge of the bundled example killed after each of its file replacements, and an undo killed after each of its
restores: the next command finds the journal, says what it did, and the tree is byte for byte as before the merge
(then merged again, when that command was `merge`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from patchmerge.cli import main
from patchmerge.fusion.transaction import MANIFEST_DIR
from tests.killed_runs import Example, cli, in_parallel, kill_commit, kill_undo, prepare, run_killed, tree


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    return prepare(tmp_path_factory.mktemp("killed"))


def rolled_back(root: Path, done: int, total: int) -> str:
    return (
        f"patchmerge: found an interrupted merge of {root} ({done} of {total} files replaced): rolled back, "
        "the tree is as it was before that merge\n"
    )


def test_merge_killed_after_every_replace_is_rolled_back_by_undo(example: Example, capsys) -> None:
    assert example.files > 20  # the example's merge writes many files: many points to die at
    points = range(1, example.files + 1)
    roots = {after: example.copy(f"merge-{after}") for after in points}
    in_parallel(lambda after: kill_commit(example, roots[after], after), points)
    for after, root in roots.items():
        assert tree(root) != example.pristine
        assert main(["undo", str(root)]) == 0
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", rolled_back(root, after, example.files)), after
        assert tree(root) == example.pristine, after
        assert not list((root / MANIFEST_DIR).rglob("*.json")), after  # no journal, no run left to undo


def test_patchmerge_merge_killed_after_its_last_replace_then_merge_again(example: Example) -> None:
    root = example.copy("cli-merge-again")  # every file replaced, the run not recorded yet: still rolled back
    run_killed(cli("merge", str(root), "--profile", "example"), example.files)
    again = subprocess.run(cli("merge", str(root), "--profile", "example"), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stderr.startswith(rolled_back(root, example.files, example.files))
    assert tree(root) == example.merged  # rolled back, then merged from a whole tree
    assert main(["undo", str(root)]) == 0
    assert tree(root) == example.pristine


def test_patchmerge_merge_killed_then_undo(example: Example) -> None:
    root = example.copy("cli-undo")
    after = example.files // 2
    run_killed(cli("merge", str(root), "--profile", "example"), after)
    undo = subprocess.run(cli("undo", str(root)), capture_output=True, text=True)
    assert (undo.returncode, undo.stdout, undo.stderr) == (0, "", rolled_back(root, after, example.files))
    assert tree(root) == example.pristine


def finished(root: Path, done: int, total: int) -> str:
    run_id = json.loads((root / MANIFEST_DIR / "manifest.json").read_text())["run_id"]
    return (
        f"patchmerge: found an interrupted undo of {root} ({done} of {total} files restored): finished it, "
        f"the tree is as it was before merge {run_id}\n"
    )


def test_undo_killed_after_every_restore_is_finished(example: Example, capsys) -> None:
    points = range(1, example.files + 1)
    roots = {after: example.merged_copy(f"undo-{after}") for after in points}
    messages = {after: finished(root, after, example.files) for after, root in roots.items()}
    in_parallel(lambda after: kill_undo(roots[after], after), points)
    for after, root in roots.items():
        message = messages[after]
        assert main(["undo", str(root)]) == 0
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", message), after
        assert tree(root) == example.pristine, after
        assert main(["undo", str(root)]) == 2
        assert capsys.readouterr().err == f"patchmerge: error: {root / MANIFEST_DIR}: no merge recorded to undo\n"


def test_patchmerge_undo_killed_then_merge(example: Example) -> None:
    root = example.merged_copy("cli-undo-killed")
    message = finished(root, example.files // 2, example.files)
    run_killed(cli("undo", str(root)), example.files // 2)
    merge = subprocess.run(cli("merge", str(root), "--profile", "example"), capture_output=True, text=True)
    assert merge.returncode == 0 and merge.stderr.startswith(message), merge.stderr
    assert tree(root) == example.merged  # the undo was finished, then the merge made from a whole tree
