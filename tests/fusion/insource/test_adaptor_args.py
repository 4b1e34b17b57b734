"""The adaptor's own parse, read from its add_argument calls: what it takes, what it refuses, and that the
parser written into the helper gives the values the adaptor's parser gives for the same command line."""

from __future__ import annotations

import argparse
import ast
import textwrap

import pytest

from patchmerge.fusion.insource.adaptor_args import Option, read_adaptor_args, render_parser
from patchmerge.fusion.insource.condition_keys import condition_keys

ARGUMENTS = textwrap.dedent("""
    def process_args(parser):
        parser.conflict_handler = 'resolve'
        parser = _add_moe_args(parser)
        return parser


    def _add_moe_args(parser):
        group = parser.add_argument_group(title='moe')
        group.add_argument('--moe-token-dispatcher-type', type=str, choices=['allgather', 'alltoall'],
                           default='allgather', help='The dispatcher.')
        group.add_argument("--moe-tp-extend-ep", action='store_true', help='tp extends ep')
        group.add_argument('--expert-capacity', '--capacity', dest='capacity', type=float, default=None)
        group.add_argument('--layers', type=int, nargs='+', default=[1, 2])
        group.add_argument('--level', type=int, default=-1)
        return parser
""")

FEATURE = textwrap.dedent("""
    class TpFeature:
        def register_args(self, parser):
            group = parser.add_argument_group(title=self.feature_name)
            group.add_argument('--moe-tp-extend-ep', action='store_true', default=False)
            group.add_argument('--level', type=int, default=0)
            group.add_argument('--ratio', type=lambda x: float(x) / 100)
            parser.set_defaults(swap=True)
            group.add_argument('--swap', action='store_true')
""")


def _read():
    return read_adaptor_args([("llm/arguments.py", ARGUMENTS), ("llm/features/tp.py", FEATURE)])


def test_options_defined_alike_in_two_places_are_one_option():
    option = _read().option("moe_tp_extend_ep")
    assert isinstance(option, Option) and option.flags == ("--moe-tp-extend-ep",)


@pytest.mark.parametrize(
    ("dest", "reason"),
    [
        ("level", "defined differently in several places (llm/arguments.py:15, llm/features/tp.py:6)"),
        ("ratio", "its add_argument at llm/features/tp.py:7 cannot be read statically"),
        ("swap", "cannot be read statically"),  # set_defaults changes it apart from its add_argument
        ("tp_2d", "args.tp_2d is not an option of the adaptor's parser (llm/arguments.py, llm/features/tp.py)"),
    ],
)
def test_an_option_that_cannot_be_relied_on_says_why(dest, reason):
    found = _read().option(dest)
    assert isinstance(found, str) and reason in found


def test_an_option_the_adaptor_changes_after_its_parse_is_not_decided_from_the_command_line():
    found = _read()
    found.changed = ("moe_tp_extend_ep",)
    reason = found.option("moe_tp_extend_ep")
    assert reason == "args.moe_tp_extend_ep is changed by the adaptor after its parse (runtime.adaptor_args_changed)"
    assert isinstance(found.option("capacity"), Option)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--moe-token-dispatcher-type", "alltoall", "--moe-tp-extend-ep"],
        ["--capacity", "1.5", "--layers", "3", "4", "--unknown", "7", "--num-layers", "2"],
        ["--expert-capacity=2", "--moe-token-dispatcher-type=allgather", "--layers", "5"],
        ["--moe-tp-extend", "--moe-tp-extend-ep-x"],  # no abbreviations, as allow_abbrev=False
    ],
)
def test_the_written_parser_gives_what_the_adaptor_parser_gives(argv):
    found = _read()
    options = [found.option(d) for d in ("moe_token_dispatcher_type", "moe_tp_extend_ep", "capacity", "layers")]
    assert all(isinstance(o, Option) for o in options)
    namespace: dict = {}
    source = "import argparse\ndef parse(argv):\n    parser = argparse.ArgumentParser(allow_abbrev=False, " \
        "add_help=False)\n" + render_parser(options) + "\n    return parser.parse_known_args(argv)[0]\n"
    exec(compile(source, "helper", "exec"), namespace)  # noqa: S102 - the code under test is generated source
    written = namespace["parse"](argv)
    adaptor: dict = {}
    exec(compile(ARGUMENTS, "arguments", "exec"), adaptor)  # noqa: S102
    expected, _ = adaptor["process_args"](argparse.ArgumentParser(allow_abbrev=False)).parse_known_args(argv)
    for option in options:
        assert getattr(written, option.dest) == getattr(expected, option.dest), option.dest


def test_an_invalid_choice_stops_the_process_as_the_adaptor_parse_does():
    option = _read().option("moe_token_dispatcher_type")
    assert isinstance(option, Option)
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    exec(option.call(), {"parser": parser})  # noqa: S102
    with pytest.raises(SystemExit):
        parser.parse_known_args(["--moe-token-dispatcher-type", "ring"])


@pytest.mark.parametrize(
    ("condition", "keys"),
    [
        ("args.tp_2d and not args.moe_fb_overlap", {"tp_2d", "moe_fb_overlap"}),
        ("getattr(args, 'schedules_method', None) == 'dualpipev'", {"schedules_method"}),
        ("args.x in ('a', 'b') or hasattr(args, 'y')", {"x", "y"}),
        ("is_enable_qlora(args)", None),  # args handed on: which options it reads is not known
        ("vars(args).get('x')", None),
    ],
)
def test_condition_keys_are_the_options_a_condition_reads(condition, keys):
    assert condition_keys(ast.parse(condition, mode="eval")) == keys


@pytest.mark.parametrize(
    ("condition", "ensured"),
    [
        ("hasattr(args, 'k')", {"k"}),
        ("getattr(args, 'k', None)", {"k"}),
        ("getattr(args, 'k', 1)", set()),  # true with the default too
        ("getattr(args, 'k', None) == 'alltoall'", {"k"}),
        ("getattr(args, 'k', None) in ('a', 'b')", {"k"}),
        ("getattr(args, 'k', 'a') in ('a', 'b')", set()),
        ("getattr(args, 'k', None) and hasattr(args, 'j')", {"k", "j"}),
        ("getattr(args, 'k', None) or hasattr(args, 'j')", set()),
        ("not hasattr(args, 'k')", set()),
        ("args.k", set()),
    ],
)
def test_what_a_true_condition_shows_args_to_have(condition, ensured):
    from patchmerge.fusion.insource.condition_keys import ensured_keys

    assert ensured_keys(ast.parse(condition, mode="eval")) == ensured
