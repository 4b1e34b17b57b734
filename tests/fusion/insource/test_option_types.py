"""Carrying an option's `type=` function into the helper: carried as written under a name of its own only
where it is certain to be the function the call reads and to compute the same there; otherwise the option
stays unreadable."""

from __future__ import annotations

import pytest

from patchmerge.fusion.insource.adaptor_args import read_adaptor_args

OK = '''
def register(parser):
    def ok(value):
        """Kept as written."""
        if value == "all":
            return 65.0
        return float(value)

    parser.add_argument("--opt", type=ok, nargs="+")
'''


MATCH = "    match 1:\n        case ok:\n            pass\n"


def _type_of(source: str) -> tuple[str | None, dict[str, str]]:
    found = read_adaptor_args([("L/args.py", source)])
    option = found.option("opt")
    return (None if isinstance(option, str) else dict(option.shape)["type"]), found.argv_parses


def test_a_function_of_builtins_alone_is_carried_as_written_under_a_name_of_its_own():
    name, carried = _type_of(OK)
    assert name is not None and name.startswith("type_") and list(carried) == [name]
    namespace: dict = {}
    exec(carried[name], namespace)
    assert namespace[name]("all") == 65.0 and namespace[name]("2") == 2.0
    assert '"""Kept as written."""' in carried[name]
    with pytest.raises(ValueError):
        namespace[name]("x")


def test_a_module_level_def_the_call_sees_is_carried_and_form_feeds_do_not_shift_it():
    source = 'def first(value):\n    return int(value)\n\x0c\n\x0c\ndef conv(value):\n    return float(value) * 2\n\n' \
             'def register(parser):\n    parser.add_argument("--opt", type=conv)\n'
    name, carried = _type_of(source)
    assert name is not None and "def " + name + "(value):\n    return float(value) * 2" in carried[name]


@pytest.mark.parametrize(
    "source",
    [
        OK.replace("    parser.add_argument", "    def ok(value):\n        return 2.0\n\n    parser.add_argument"),
        OK.replace("    parser.add_argument", "    ok = lambda value: float(value) * 2\n    parser.add_argument"),
        OK.replace("def register(parser):", "def register(parser, float=int):"),
        OK.replace("return float(value)", "return float(value) * globals().get('SCALE', 1)"),
        OK.replace("return float(value)", "return float(value) * scale").replace("(parser):", "(parser, scale):"),
        OK.replace("return float(value)", "return float(value) * LIMIT") + "\nLIMIT = 2\n",
        OK.replace("return float(value)", "return ok(value)"),
        OK.replace("def ok(value):", "def ok(value, other=1):"),
        OK.replace("def ok(value):", "@staticmethod\n    def ok(value):"),
        "def register(parser):\n    parser.add_argument('--opt', type=later)\n\ndef later(value):\n    return value\n",
        "float = int\n" + OK,
        OK.replace("    parser.add_argument", "    [ok := str for _ in (1,)]\n    parser.add_argument"),
        OK.replace("    parser.add_argument", MATCH + "    parser.add_argument"),
    ],
    ids=["redefined", "rebound-by-lambda", "builtin-shadowed-by-a-parameter", "reads-globals", "closure",
         "module-name", "itself", "two-parameters", "decorated", "defined-after-the-call",
         "builtin-rebound-at-module-level", "rebound-by-a-walrus-in-a-comprehension", "rebound-by-a-match"],
)
def test_what_might_not_be_the_function_or_compute_the_same_is_not_carried(source):
    name, carried = _type_of(source)
    assert (name, carried) == (None, {})
