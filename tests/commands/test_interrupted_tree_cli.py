"""Commands that only read a tree refuse one a killed merge left half written, and write nothing: the user is told
which command recovers it."""

from __future__ import annotations

import pytest

from patchmerge.cli import main
from tests.killed_runs import Example, kill_commit, prepare


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    return prepare(tmp_path_factory.mktemp("interrupted"))


def everything(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "command",
    [
        ["plan"],
        ["merge", "--dry-run"],
        ["check"],  # with the profile's model shell and pattern
        ["bisect"],
        ["collect"],
    ],
)
def test_reading_command_refuses_a_half_written_tree(example: Example, capsys, command: list[str]) -> None:
    root = example.copy(f"refused-{'-'.join(command)}")
    kill_commit(example, root, 3)
    before = everything(root)
    code = main([command[0], str(root), "--profile", "example", *command[1:]])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"patchmerge: error: {root} holds an interrupted merge (3 of {example.files} files replaced): "
        f"run `patchmerge undo {root}` to roll it back first\n"
    )
    assert everything(root) == before
