import re

import pytest

from patchmerge.collection.builtin_calls import _PURE
from patchmerge.conditions import (
    ALLOWED_BUILTINS,
    ConditionError,
    parse_condition,
    refusal,
    refused_name,
    unknown_names,
)
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file
from patchmerge.profile import load_profile
from tests.conftest import REAL_PATCH_JSON, needs_real_patch_json

IMPORTS = ("mindspeed_llm.tasks.posttrain.lora.utils.is_enable_qlora",)


@pytest.mark.parametrize(
    "text",
    ["args.tp_2d", "not args.x", "args.mode == 'dualpipev'", "args.a or args.b", "not is_enable_qlora(args)"],
)
def test_expressions_from_the_real_json_parse(text):
    assert parse_condition(text).text == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("import os", "statement"),
        ("x = args.y", "statement"),
        ("args.x; import os", "statement"),
        ("lambda: args.x", "lambda"),
        ("(y := args.x)", "assignment"),
        ("args.x ==", "not valid Python"),
        ("", "empty"),
        ("def f(): pass", "statement"),
    ],
)
def test_non_expressions_are_rejected_with_a_reason(text, message):
    with pytest.raises(ConditionError, match=message):
        parse_condition(text)


def test_non_string_condition_is_rejected():
    with pytest.raises(ConditionError, match="string"):
        parse_condition(["args.x"])


def test_unknown_names_are_the_ones_no_condition_import_provides():
    condition = parse_condition("not is_enable_qlora(args) and len(args.x) > 0")
    assert unknown_names(condition, ()) == ["is_enable_qlora"]
    assert unknown_names(condition, ("mindspeed_llm.lora.utils.is_enable_qlora",)) == []


@pytest.mark.parametrize(
    ("text", "free"),
    [
        ("any(m in args.modes for m in ('a', 'b'))", {"args"}),
        ("[x for x in args.items if x]", {"args"}),
        ("{k: v for k, v in args.table.items()}", {"args"}),
        ("all(y for x in args.rows for y in x)", {"args"}),
        ("[x for x in xs] and x", {"xs", "x"}),  # the comprehension's x does not leak out
        ("[y for x in args.rows for y in x.ys if ok(y)]", {"args", "ok"}),
        ("[x for x in [x for x in args.a]]", {"args"}),
    ],
)
def test_comprehension_targets_are_not_free_names(text, free):
    assert parse_condition(text).free_names == free


def test_comprehension_variable_is_not_reported_as_unknown():
    condition = parse_condition("any(m == 'dualpipev' for m in args.schedules)")
    assert unknown_names(condition, ()) == []


def test_deeply_nested_condition_is_a_condition_error():
    with pytest.raises(ConditionError, match="nested too deeply"):
        parse_condition("-" * 100_000 + "args.x")


def test_every_builtin_collect_writes_is_allowed_by_default():
    # collect keeps these calls in the conditions it writes; its output must load as it is
    assert _PURE | {"getattr", "hasattr"} <= ALLOWED_BUILTINS


@pytest.mark.parametrize(
    "text",
    [
        "getattr(args, 'high_availability', None)",
        "hasattr(args, 'ai_framework')",
        "isinstance(args.x, (int, float)) and len(args.ys) > max(1, min(args.a, 3))",
        "sorted(set(args.modes)) == ['a', 'b'] and any(m in dict(a=1) for m in list(args.ms))",
        "not is_enable_qlora(args)",
        "[x for x in args.xs if bool(x)]",
    ],
)
def test_allowed_reads_pass(text):
    assert refused_name(parse_condition(text), IMPORTS, ALLOWED_BUILTINS) is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("__import__('os').system('x')", "__import__"),
        ("eval('args.x')", "eval"),
        ("open('/etc/passwd').read()", "open"),
        ("exec('import os')", "exec"),
        ("type(args)", "type"),
        ("vars(args)", "vars"),
        ("globals()['os']", "globals"),
        ("__builtins__['eval']('1')", "__builtins__"),
        ("__name__ == 'x'", "__name__"),
    ],
)
def test_other_builtins_and_dunder_names_are_refused(text, name):
    condition = parse_condition(text)
    assert refused_name(condition, IMPORTS, ALLOWED_BUILTINS) == name
    assert refusal(name) == (
        f"reads {name}, which is not args, a condition_import name or an allowed builtin "
        "(profile: conditions.allowed_names)"
    )


def test_the_profile_widens_the_builtins_and_condition_import_may_name_its_own():
    condition = parse_condition("sum(args.sizes) > 8")
    assert refused_name(condition, (), ALLOWED_BUILTINS) == "sum"
    assert refused_name(condition, (), ALLOWED_BUILTINS | {"sum"}) is None
    assert refused_name(condition, ("mindspeed.utils.sum",), ALLOWED_BUILTINS) is None
    dunder = parse_condition("__import__(args)")
    assert refused_name(dunder, ("mindspeed.utils.__import__",), ALLOWED_BUILTINS | {"__import__"}) == "__import__"


def test_names_no_condition_import_gives_are_left_to_the_planner():
    assert refused_name(parse_condition("os.system('x')"), (), ALLOWED_BUILTINS) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("args.__class__", "reads the attribute __class__, which a condition may not read"),
        ("is_on.__globals__['os']", "reads the attribute __globals__"),
        ("args.x.__class__.__base__.__subclasses__()", "reads the attribute __subclasses__"),
        ("[g.gi_frame for g in args.gens]", "reads the attribute gi_frame"),
        ("sys_frame.f_back.f_globals", "reads the attribute f_globals"),
        ("getattr(args, '__dict__')", "reads the attribute __dict__ through getattr()"),
        ("hasattr(args, 'f_globals')", "reads the attribute f_globals through hasattr()"),
        ("getattr(args, args.name)", "calls getattr() without a plain string as the attribute name"),
        ("getattr(args)", "calls getattr() without a plain string"),
        ("max(args.xs, key=getattr)", "uses getattr other than as getattr(obj, 'name')"),
        ("'{0.__class__}'.format(args)", "calls .format(), which a condition may not call"),
        ("args.template.format_map(args.table)", "calls .format_map()"),
    ],
)
def test_attributes_that_reach_the_interpreter_are_refused(text, message):
    with pytest.raises(ConditionError, match=re.escape(message)):
        parse_condition(text)


def test_a_plain_attribute_named_like_a_method_is_still_read():
    assert parse_condition("args.format == 'mcore'").free_names == {"args"}


@needs_real_patch_json
def test_the_real_patch_json_loads_with_the_default_names():
    profile = load_profile("mindspeed-llm-core-r0.8.0")
    patch_set = load_patch_file(REAL_PATCH_JSON, make_plugin_manager(profile, load_entry_points=False), profile)
    assert len(patch_set) == 241 and sum(1 for p in patch_set.patches if p.condition) > 100
