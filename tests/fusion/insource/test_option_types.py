"""Carrying an option's `type=` function into the helper: what can be carried, as written under a name of its
own, and what leaves the option unreadable."""

from __future__ import annotations

import ast

import pytest

from patchmerge.fusion.insource.adaptor_args import read_adaptor_args
from patchmerge.fusion.insource.option_types import carried_type, nested_defs

SOURCE = '''
LIMIT = 3


def top_level(value):
    """Kept as written."""
    return int(value) + 1


def register(parser, scale):
    def ok(value):
        if value == "all":
            return 65.0
        return float(value)

    def closure(value):
        return float(value) * scale

    def global_read(value):
        return int(value) * LIMIT

    def itself(value):
        return itself(value)

    def two(value, other):
        return value

    @staticmethod
    def decorated(value):
        return value

    parser.add_argument("--ok", type=ok, nargs="+")
    parser.add_argument("--closure", type=closure)
    parser.add_argument("--top", type=top_level)
'''


def _carry(name: str, inside: str = "register") -> tuple[str | None, dict[str, str]]:
    module = ast.parse(SOURCE)
    scopes = [nested_defs(module), nested_defs(nested_defs(module)[inside])]
    carried: dict[str, str] = {}
    return carried_type(name, scopes, SOURCE, "L/args.py", carried), carried


def test_a_function_of_builtins_alone_is_carried_as_written_under_a_name_of_its_own():
    name, carried = _carry("ok")
    assert name is not None and name.startswith("type_") and list(carried) == [name]
    namespace: dict = {}
    exec(carried[name], namespace)
    assert namespace[name]("all") == 65.0 and namespace[name]("2") == 2.0
    with pytest.raises(ValueError):
        namespace[name]("x")
    top, carried = _carry("top_level")
    assert top is not None and '"""Kept as written."""' in carried[top]


@pytest.mark.parametrize("name", ["closure", "global_read", "itself", "two", "decorated", "missing"])
def test_what_reads_more_than_builtins_or_is_not_a_plain_one_argument_def_is_not_carried(name):
    assert _carry(name) == (None, {})


def test_the_parser_reading_carries_the_type_and_leaves_the_others_unreadable():
    found = read_adaptor_args([("L/args.py", SOURCE)])
    ok = found.option("ok")
    assert not isinstance(ok, str) and dict(ok.shape)["type"].startswith("type_")
    assert dict(ok.shape)["type"] in found.argv_parses
    assert "cannot be read statically" in str(found.option("closure"))
    top = found.option("top")
    assert not isinstance(top, str)  # a module-level def the call can see is carried too
