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
