"""Carrying the adaptor's changes to its own parse into the helper (runtime.adaptor_args_adjust): what can be
carried, and a clear error naming the entry for what cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchmerge.errors import ProfileError
from patchmerge.fusion.adaptor_adjust import carried_adjusters
from patchmerge.fusion.texts import MergeAborted
from patchmerge.profile import profile_from_dict

SOURCE = '''
import functools
import os
from argparse import Namespace
import json as _json
from mindspeed_llm.utils import LIMIT


def adjust(args):
    if os.getenv("X"):
        args.x = _json.loads("1")


def uses_the_package(args):
    args.limit = LIMIT


@staticmethod
def decorated(args):
    pass


def two(args, more):
    pass


def one_line(args): args.x = 1


def helpers_inside(args):
    def inner(value):
        return len(value) + sum([1])
    args.n = inner("ab")


def decorated_helper (args):
    """Reads the environment once.

    More words.
    """
    @functools.lru_cache
    def inner():
        return os.getenv("X")
    args.x = inner()


def annotated(args: Namespace) -> Namespace:
    return args


def semicolon(args):
    """Doc."""; args.x = 1


def dunder(args):
    args.name = __name__


def print(*values):
    pass


def shadowed(args):
    print(args)


def reads_options(args):
    if args.level > 1 and getattr(args, "other", 0):
        args.fast = True
'''


def _carry(name: str) -> str:
    (carried,) = carried_adjusters((f"MindSpeed-LLM/env.py::{name}",), lambda path: SOURCE)
    return carried.code


def test_a_function_of_the_standard_library_is_carried_with_its_imports_inside():
    code = _carry("adjust")
    assert code.splitlines()[1:4] == ["def _adjust_0(args):", "    import json as _json", "    import os"]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the carried code, run as the helper runs it
    args = type("Args", (), {})()
    namespace["_adjust_0"](args)
    assert not hasattr(args, "x")
    assert "import" not in _carry("helpers_inside").split("def _adjust_0")[1]  # builtins need nothing


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("uses_the_package", "reads LIMIT, which is neither a builtin nor a standard-library import"),
        ("decorated", "must be an undecorated def taking the args alone"),
        ("two", "must be an undecorated def taking the args alone"),
        ("one_line", "body must start on a line of its own"),
        ("missing", "has no module-level def missing"),
        ("annotated", "has annotations, which the helper would evaluate without its module's imports"),
        ("semicolon", "body must start on a line of its own"),
        ("dunder", "reads __name__, which is neither a builtin"),
        ("shadowed", "reads print, which is neither a builtin"),
    ],
)
def test_what_cannot_be_carried_is_an_error_naming_the_entry(name, words):
    with pytest.raises(MergeAborted, match=f"runtime.adaptor_args_adjust item 'MindSpeed-LLM/env.py::{name}'") as info:
        _carry(name)
    assert words in str(info.value)


def test_an_unreadable_file_is_an_error_naming_the_entry():
    def missing(path: Path) -> str:
        raise FileNotFoundError(2, "No such file or directory")

    with pytest.raises(MergeAborted, match="cannot read MindSpeed-LLM/env.py"):
        carried_adjusters(("MindSpeed-LLM/env.py::adjust",), missing)


def test_the_profile_entry_names_a_file_and_a_function():
    base = {"name": "p", "sources": {"roots": ["a"], "rewritable": ["a"]}}
    parse = {"adaptor_args_files": ["L/args.py"]}
    profile = profile_from_dict({**base, "runtime": {**parse, "adaptor_args_adjust": ["L/env.py::adjust"]}})
    assert profile.runtime.adaptor_args_adjust == ("L/env.py::adjust",)
    with pytest.raises(ProfileError, match=r"'runtime.adaptor_args_adjust' item 'L/env.py' must be"):
        profile_from_dict({**base, "runtime": {**parse, "adaptor_args_adjust": ["L/env.py"]}})
    with pytest.raises(ProfileError, match=r"'runtime.adaptor_args_adjust' needs 'runtime.adaptor_args_files'"):
        profile_from_dict({**base, "runtime": {"adaptor_args_adjust": ["L/env.py::adjust"]}})


def test_a_decorated_helper_inside_keeps_its_decorator_with_its_def():
    code = _carry("decorated_helper")
    lines = code.splitlines()
    assert lines[1] == "def _adjust_0(args):" and lines.index("    import functools") < lines.index(
        "    @functools.lru_cache")
    assert '    More words.\n    """\n    import functools\n    import os\n    @functools' in code
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the carried code, run as the helper runs it
    args = type("Args", (), {})()
    namespace["_adjust_0"](args)
    assert hasattr(args, "x")


def test_what_it_reads_without_a_default_is_reported():
    (carried,) = carried_adjusters(("MindSpeed-LLM/env.py::reads_options",), lambda path: SOURCE)
    assert carried.reads == {"level"} and carried.entry == "MindSpeed-LLM/env.py::reads_options"


def test_a_missing_file_is_named():
    with pytest.raises(MergeAborted, match="nowhere.py::f': MindSpeed-LLM/nowhere.py is missing or empty"):
        carried_adjusters(("MindSpeed-LLM/nowhere.py::f",), lambda path: "")
