"""Options the adaptor adds only under a condition over its parse so far (runtime.adaptor_args_guarded): read
with their condition, written into the helper's parse the same way, kept by a later merge, and a clear error
naming the entry for what cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchmerge.errors import ProfileError
from patchmerge.fusion.adaptor_guards import read_guarded
from patchmerge.fusion.insource.adaptor_args import read_adaptor_args, render_parser
from patchmerge.fusion.runtime_template import render, with_earlier_merge
from patchmerge.fusion.texts import MergeAborted
from patchmerge.profile import profile_from_dict

PARSER = """
def register_framework_options(group):
    group.add_argument('--enable-seq', action='store_true')
    group.add_argument('--splits', type=int, default=4)


def register_seq_options(group):
    group.add_argument('--seq-mode', type=str, default='a')


def process_args(parser):
    parser.add_argument('--ai-framework', type=str, default='pytorch')
    parser.add_argument('--fast', action='store_true')
    if parser.parse_known_args()[0].ai_framework == 'mindspore':
        register_framework_options(parser)
    return parser
"""
ENTRY = "L/arguments.py::register_framework_options if args.ai_framework == 'mindspore'"


def _read(entry: str = ENTRY, text: str = PARSER, *more: str):
    found = read_adaptor_args([("L/arguments.py", text)])
    read_guarded(found, (entry, *more), lambda path: text if path == Path("L/arguments.py") else "")
    return found


def test_the_functions_options_are_read_under_the_condition_and_only_there():
    found = _read()
    seq = found.option("enable_seq")
    assert not isinstance(seq, str) and seq.guard is not None
    assert seq.guard.condition == "args.ai_framework == 'mindspore'"
    assert [need.dest for need in seq.guard.needs] == ["ai_framework"]
    assert len(found.options["enable_seq"]) == 1  # not also as an option its file adds always
    fast = found.option("fast")
    assert not isinstance(fast, str) and fast.guard is None


def test_the_helper_parses_before_it_adds_them_and_adds_the_options_the_condition_reads():
    found = _read()
    seq, splits = found.option("enable_seq"), found.option("splits")
    assert not isinstance(seq, str) and not isinstance(splits, str)
    lines = render_parser([seq, splits]).splitlines()
    assert lines[0].startswith("    parser.add_argument('--ai-framework', dest='ai_framework'")
    assert lines[1] == ("    args = parser.parse_known_args(sys.argv[1:])[0]  # before "
                        "L/arguments.py::register_framework_options adds its options")
    assert lines[2] == "    if args.ai_framework == 'mindspore':"
    assert [line.split("(")[1].split(",")[0] for line in lines[3:]] == ["'--enable-seq'", "'--splits'"]
    # with the consuming options (unknown ones taken in), each goes where the adaptor adds it
    body = render_parser([], found.consuming)
    assert body.index("'--fast'") < body.index("if args.ai_framework") < body.index("'--splits'")


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("L/arguments.py::missing if args.ai_framework == 'mindspore'", "does not define missing once"),
        ("L/other.py::register_framework_options if args.ai_framework == 'x'", "L/other.py is missing or empty"),
        ("L/arguments.py::register_framework_options if args.nothing", "reads args.nothing, which is not one option"),
        ("L/arguments.py::register_framework_options if f(args)", "reads 'f'; it may read only args"),
        ("L/arguments.py::register_framework_options if len(args)", "uses args other than by reading its options"),
        ("L/arguments.py::register_framework_options if args.x.__class__", "its condition"),
    ],
)
def test_what_cannot_be_read_is_an_error_naming_the_entry(entry, words):
    with pytest.raises(MergeAborted) as caught:
        _read(entry)
    assert f"runtime.adaptor_args_guarded item {entry!r}" in str(caught.value) and words in str(caught.value)


def test_a_later_merge_keeps_the_guarded_options_an_earlier_one_wrote():
    found = _read()
    seq, splits, fast = (found.option(dest) for dest in ("enable_seq", "splits", "fast"))
    assert not any(isinstance(option, str) for option in (seq, splits, fast))
    earlier_body = render_parser([seq, fast])  # type: ignore[list-item]
    helper = ("        parser = argparse.ArgumentParser(allow_abbrev=False)\n"
              + "\n".join("    " + line for line in earlier_body.splitlines())
              + "\n        known, unknown = parser.parse_known_args(sys.argv[1:])\n")
    ours = render_parser([splits])  # type: ignore[list-item]
    merged, _ = with_earlier_merge(helper, ours, {})
    lines = merged.splitlines()
    assert lines.count("    if args.ai_framework == 'mindspore':") == 1
    guarded = lines[lines.index("    if args.ai_framework == 'mindspore':") + 1:]
    assert [line.split("(")[1].split(",")[0] for line in guarded] == ["'--enable-seq'", "'--splits'"]
    assert any("'--fast'" in line for line in lines[: lines.index("    if args.ai_framework == 'mindspore':")])
    assert with_earlier_merge(helper, earlier_body, {})[0] == earlier_body  # nothing to add: as written


def test_the_profile_entry_names_a_function_and_its_condition():
    base = {"name": "p", "sources": {"roots": ["L"], "rewritable": ["l"]}}
    parse = {"adaptor_args_files": ["L/arguments.py"]}
    profile = profile_from_dict({**base, "runtime": {**parse, "adaptor_args_guarded": [ENTRY]}})
    assert profile.runtime.adaptor_args_guarded == (ENTRY,)
    for bad, words in [("L/arguments.py::f", "must be 'REL/FILE.py::function if CONDITION'"),
                       ("L/arguments.py::f if args.x ==", "its condition is not a Python expression")]:
        with pytest.raises(ProfileError, match=r"'runtime.adaptor_args_guarded' item") as caught:
            profile_from_dict({**base, "runtime": {**parse, "adaptor_args_guarded": [bad]}})
        assert words in str(caught.value)
    with pytest.raises(ProfileError, match=r"'runtime.adaptor_args_guarded' needs 'runtime.adaptor_args_files'"):
        profile_from_dict({**base, "runtime": {"adaptor_args_guarded": [ENTRY]}})


def test_what_the_condition_reads_is_parsed_in_full_where_only_consuming_copies_are_written():
    """With the unknown options taken in, every option is written by what it takes from the command line; the
    option a guard's condition reads must keep its type and default, or `args.ai_framework` would be None."""
    found = _read()
    body = render_parser([], found.consuming)
    line = next(line for line in body.splitlines() if "'--ai-framework'" in line)
    assert "default='pytorch'" in line and "type=str" in line
    assert body.count("'--ai-framework'") == 1


def test_a_guard_under_a_guard_is_refused_in_either_order():
    nested = "L/arguments.py::register_seq_options if args.enable_seq"
    for entries in ((ENTRY, nested), (nested, ENTRY)):
        with pytest.raises(MergeAborted, match="reads args.enable_seq, which is not one option"):
            _read(*entries[:1], PARSER, *entries[1:])


def test_one_function_named_twice_is_an_error():
    with pytest.raises(MergeAborted, match="is named by"):
        _read(ENTRY, PARSER, "./L/arguments.py::register_framework_options if args.fast")


def test_the_condition_is_written_as_one_line_without_its_comment_and_the_path_as_posix():
    found = _read("./L/arguments.py::register_framework_options if (args.ai_framework\n == 'mindspore')  # ms")
    seq = found.option("enable_seq")
    assert not isinstance(seq, str) and seq.guard is not None
    assert seq.guard.condition == "args.ai_framework == 'mindspore'"
    assert seq.guard.entry == "L/arguments.py::register_framework_options"
    assert len(found.options["enable_seq"]) == 1  # read once, under the condition


def test_a_later_merge_that_guards_an_option_an_earlier_one_added_always_keeps_only_its_own():
    found = _read()
    seq, fast = found.option("enable_seq"), found.option("fast")
    assert not isinstance(seq, str) and not isinstance(fast, str)
    unguarded = type(seq)(seq.flags, seq.dest, seq.shape, seq.where)  # as a merge without the profile key wrote it
    helper = render("megatron.training.get_args", None, render_parser([unguarded, fast]), {}, False)
    merged, _ = with_earlier_merge(helper, render_parser([seq]), {})
    assert merged.count("'--enable-seq'") == 1
    assert merged.index("if args.ai_framework") < merged.index("'--enable-seq'")
    assert "'--fast'" in merged  # what only the earlier merge read stays
    compile(render("megatron.training.get_args", None, merged, {}, False), "helper", "exec")
