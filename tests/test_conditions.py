import pytest

from patchmerge.conditions import ConditionError, parse_condition, unknown_names


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
