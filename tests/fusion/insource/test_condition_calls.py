"""A condition that calls a function, written out over the adaptor's parse: what is read, what is refused (with a
reason naming the function and the line), and that the helper's parse gives what the function's parser gives."""

from __future__ import annotations

import argparse
import ast
import sys
import textwrap

import pytest

from patchmerge.fusion.insource.adaptor_args import read_adaptor_args
from patchmerge.fusion.insource.condition_calls import FunctionSource, reduce_condition

ADAPTOR = "def process_args(parser):\n    parser.add_argument('--qlora', action='store_true')\n" \
          "    parser.add_argument('--level', type=int, default=None)\n"


def _reduce(body: str, condition: str = "check(args)"):
    module = ast.parse(textwrap.dedent(body))
    functions = {node.name: node for node in module.body if isinstance(node, ast.FunctionDef)}

    def find(dotted: str) -> FunctionSource | str:
        name = dotted.rsplit(".", 1)[-1]
        if name not in functions:
            return f"{dotted} is not a function in the source roots"
        return FunctionSource(functions[name], module, f"features.py:{functions[name].lineno}")

    imports = tuple(f"pkg.features.{name}" for name in functions)
    return reduce_condition(condition, imports, find, read_adaptor_args([("arguments.py", ADAPTOR)]))


QLORA = """
    import argparse
    from megatron.training import get_args

    def check(args=None):
        args = args if args else get_args()
        if hasattr(args, 'qlora') and args.qlora:
            return True
        parser = argparse.ArgumentParser()
        parser.add_argument('--qlora-nf4', action='store_true')
        args, _ = parser.parse_known_args()
        return args.qlora_nf4
"""


def test_a_function_of_the_options_and_its_own_parse_is_written_out():
    reduced = _reduce(QLORA, "check(args) and args.level == 2")
    [parse] = reduced.parses
    assert reduced.text == f"(args.qlora or _patchmerge.{parse.name}().qlora_nf4) and args.level == 2"
    assert parse.where == "features.py:9"
    # the helper's parse gives what the function's own parser gives, abbreviations included
    namespace: dict = {"sys": sys, "_ARGV_PARSES": {}}
    exec(parse.render(), namespace)
    for argv in ([], ["--qlora-nf4"], ["--qlora-n"], ["--level", "2", "--qlora-nf4", "x"]):
        namespace["_ARGV_PARSES"].clear()
        original = argparse.ArgumentParser()
        original.add_argument("--qlora-nf4", action="store_true")
        sys_argv, sys.argv = sys.argv, ["pretrain.py", *argv]
        try:
            assert namespace[parse.name]().qlora_nf4 == original.parse_known_args()[0].qlora_nf4
        finally:
            sys.argv = sys_argv


def test_static_tests_are_decided_and_keywords_bind_parameters():
    body = """
        def check(args, level=2, strict=False):
            if strict:
                return False
            return getattr(args, 'level', None) == level or not hasattr(args, 'qlora')
    """
    assert _reduce(body, "check(args=args, level=3)").text == "args.level == 3"
    assert _reduce(body, "not check(args, 3, True)").text == "not False"
    # where the value counts, not only its truth, it is kept as the function returns it
    assert _reduce(body, "check(args, 3) == 1").text == "(args.level == 3 or False) == 1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("from megatron.training import get_args\ndef check(args):\n    return get_args().qlora\n",
         "check (features.py:2) calls get_args at line 3"),
        ("def check(args):\n    return state.qlora\n", "reads 'state', which it does not bind at line 2"),
        ("def check(args):\n    for a in args.level:\n        pass\n    return True\n",
         "check (features.py:1) runs 'for a in args.level:' at line 2"),
        ("def check(args):\n    return args.fast\n",
         "check (features.py:1) reads args.fast: args.fast is not an option of the adaptor's parser"),
        ("import argparse\ndef check(args):\n    p = argparse.ArgumentParser()\n    return p.parse_known_args()[0].x\n",
         "reads .x, which its parser does not define at line 4"),
        ("def check(args):\n    return args\n", "args or a constant"),
        ("def check(*args):\n    return True\n", "takes *args"),
        ("def check(args, other):\n    return True\n", "other gets no value"),
    ],
)
def test_what_an_expression_cannot_stand_for_is_refused_with_the_reason(body, reason):
    reduced = _reduce(body, "check(args)") if "args or a constant" not in reason else _reduce(body, "check(1 + 1)")
    assert isinstance(reduced, str)
    assert reason in reduced


def test_a_function_used_other_than_by_a_call_is_refused():
    assert _reduce(QLORA, "check is not None") == "check is used other than by a call"


def test_each_side_of_an_undecided_if_builds_its_own_parser():
    body = """
        import argparse

        def check(args):
            parser = argparse.ArgumentParser()
            enabled = False
            if args.qlora:
                enabled = True
            parser.add_argument('--nf4', action='store_true')
            ns, _ = parser.parse_known_args()
            return enabled or ns.nf4
    """
    reduced = _reduce(body)
    [parse] = reduced.parses
    assert [option.flags for option in parse.options] == [("--nf4",)]  # once, not once per side of the if
    assert reduced.text == f"args.qlora or _patchmerge.{parse.name}().nf4"


def test_an_option_added_on_one_side_only_is_not_read_on_the_other():
    body = """
        import argparse

        def check(args):
            parser = argparse.ArgumentParser()
            if args.qlora:
                parser.add_argument('--nf4', action='store_true')
            ns, _ = parser.parse_known_args()
            return ns.nf4
    """
    assert "reads .nf4, which its parser does not define" in _reduce(body)


def test_a_parse_sees_only_the_options_added_before_it():
    body = """
        import argparse

        def check(args):
            parser = argparse.ArgumentParser()
            ns, _ = parser.parse_known_args()
            parser.add_argument('--nf4', action='store_true')
            return ns.nf4
    """
    assert "reads .nf4, which its parser does not define" in _reduce(body)


def test_a_function_bound_twice_in_its_module_is_refused(tmp_path):
    from pathlib import Path

    from patchmerge.fusion.insource.condition_calls import read_condition_calls
    from patchmerge.model import Definition, DefKind, Patch, PlannedPatch

    text = "def is_x(args):\n    return args.qlora\n\n\ndef is_x(args):\n    return not args.qlora\n"
    definition = Definition("pkg.features.is_x", DefKind.FUNCTION, "pkg.features", "is_x", Path("features.py"), 5)
    patch = Patch("m.f", 0, "m.g", "g", ("is_x(args)",), ("pkg.features.is_x",))
    adaptor = read_adaptor_args([("arguments.py", ADAPTOR)])
    read_condition_calls([PlannedPatch(patch, definition, definition, None)], adaptor, lambda _: definition,
                         lambda _: text)
    assert adaptor.calls_unread == {"m.f#0": "pkg.features.is_x is bound 2 times at the top of features.py"}
