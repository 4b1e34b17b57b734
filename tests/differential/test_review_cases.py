"""Review cases: phases across the targets of one site, condition names that collide, multi-line conditions;
and unit tests of the file-level helpers they led to (module names under multi-part roots, the args-setter
hook, a module that binds the helper alias itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchmerge.fusion.edits import EditError, append_block, hook_args_setter
from patchmerge.fusion.stanza import normalise, rewrite_condition
from patchmerge.source.modules import module_of_path
from tests.differential.harness import Scenario, compare

TWO_FUNCTIONS = """
def f():
    return "orig"


def g():
    return "orig"
"""


def test_phases_across_targets_of_one_site(tmp_path):
    # both targets are aliases of one function (one site): the runtime applies every target's phase 0, then
    # phase 1, so the phase-1 replacement on `training` drops the phase-0 wrapper of `checkpointing` too
    outcomes = compare(
        tmp_path,
        Scenario(
            "phases",
            {
                "Megatron-LM/megatron/training/utils.py": """
from megatron.calls import LOG


def unwrap(model):
    LOG.append("unwrap")
    return model
""",
                "Megatron-LM/megatron/training/training.py": "from megatron.training.utils import unwrap\n",
                "Megatron-LM/megatron/training/checkpointing.py": "from megatron.training.utils import unwrap\n",
                "MindSpeed-LLM/mindspeed_llm/patches.py": """
from megatron.calls import LOG


def unwrap_wrapper(fn):
    def inner(model):
        LOG.append("unwrap_wrapper")
        return [fn(model)]
    return inner


def unwrap(model):
    LOG.append("replaced")
    return ("r", model)
""",
                "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.training import checkpointing, training, utils
    return [training.unwrap(1), checkpointing.unwrap(2), utils.unwrap(3)]
""",
            },
            {
                "megatron.training.training.unwrap": [
                    {"patch_import": "mindspeed_llm.patches.unwrap_wrapper", "phase": 0},
                    {"patch_import": "mindspeed_llm.patches.unwrap", "condition": ["args.a"], "phase": 1},
                ],
                "megatron.training.checkpointing.unwrap": [
                    {"patch_import": "mindspeed_llm.patches.unwrap_wrapper", "phase": 0}
                ],
            },
        ),
    )
    assert len({o["result"] for o in outcomes}) == 2


def test_two_condition_imports_with_the_same_last_name(tmp_path):
    outcomes = compare(
        tmp_path,
        Scenario(
            "condimports",
            {
                "Megatron-LM/megatron/core/__init__.py": "",
                "Megatron-LM/megatron/core/utils.py": TWO_FUNCTIONS,
                "MindSpeed/mindspeed/flags.py": "def enabled(args):\n    return args.a\n",
                "MindSpeed-LLM/mindspeed_llm/flags.py": "def enabled(args):\n    return args.b\n",
                "MindSpeed/mindspeed/patches.py": "def f():\n    return 'pf'\n\n\ndef g():\n    return 'pg'\n",
                "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core.utils import f
    return [f()]
""",
            },
            {
                "megatron.core.utils.f": [
                    {
                        "patch_import": "mindspeed.patches.f",
                        "condition": ["enabled(args)"],
                        "condition_import": ["mindspeed.flags.enabled"],
                    },
                    {
                        "patch_import": "mindspeed.patches.g",
                        "condition": ["enabled(args)"],
                        "condition_import": ["mindspeed_llm.flags.enabled"],
                    },
                ]
            },
            extra_domains={"a": [False, True], "b": [False, True]},
        ),
    )
    assert {o["result"] for o in outcomes} == {"['orig']", "['pf']", "['pg']"}


def test_condition_imports_named_like_the_settle_function_locals(tmp_path):
    flags = "def _final(args):\n    return args.a\n\n\ndef _taken(args):\n    return args.b\n"
    outcomes = compare(
        tmp_path,
        Scenario(
            "shadow",
            {
                "Megatron-LM/megatron/core/__init__.py": "",
                "Megatron-LM/megatron/core/utils.py": TWO_FUNCTIONS,
                "MindSpeed/mindspeed/flags.py": flags,
                "MindSpeed/mindspeed/patches.py": """
def f():
    return 'pf'


def f_wrapper(fn):
    def inner():
        return [fn()]
    return inner
""",
                "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core.utils import f
    return [f()]
""",
            },
            {
                "megatron.core.utils.f": [
                    {
                        "patch_import": "mindspeed.patches.f",
                        "condition": ["_final(args)"],
                        "condition_import": ["mindspeed.flags._final"],
                    },
                    {
                        "patch_import": "mindspeed.patches.f_wrapper",
                        "condition": ["_taken(args) and [_final for _final in (1,)]"],
                        "condition_import": ["mindspeed.flags._taken"],
                    },
                ]
            },
            extra_domains={"a": [False, True], "b": [False, True]},
        ),
    )
    assert len({o["result"] for o in outcomes}) == 4


def test_multi_line_condition(tmp_path):
    outcomes = compare(
        tmp_path,
        Scenario(
            "multiline",
            {
                "Megatron-LM/megatron/core/__init__.py": "",
                "Megatron-LM/megatron/core/utils.py": TWO_FUNCTIONS,
                "MindSpeed/mindspeed/patches.py": "def f():\n    return 'pf'\n",
                "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core.utils import f
    return [f()]
""",
            },
            {"megatron.core.utils.f": [{"patch_import": "mindspeed.patches.f", "condition": ["(args.a\n or args.b)"]}]},
        ),
    )
    assert {o["result"] for o in outcomes} == {"['orig']", "['pf']"}


def test_conditions_are_rewritten_on_the_tree():
    assert normalise("(args.a\n or args.b)") == "args.a or args.b"
    # only Name nodes: an attribute or a string with the same text stays
    assert rewrite_condition("enabled(args) and args.enabled == 'enabled'", {"enabled": "_cond_0"}) == (
        "_cond_0(args) and args.enabled == 'enabled'"
    )


@pytest.mark.parametrize(
    ("path", "roots", "module"),
    [
        (
            "src/MindSpeed-LLM/mindspeed_llm/training/utils.py",
            ("src/MindSpeed-LLM", "src"),
            "mindspeed_llm.training.utils",
        ),
        ("src/MindSpeed-LLM/mindspeed_llm/__init__.py", ("src", "src/MindSpeed-LLM"), "mindspeed_llm"),
        ("Megatron-LM/megatron/core/utils.py", ("Megatron-LM", "MindSpeed"), "megatron.core.utils"),
        ("src/x/y.py", ("src/MindSpeed-LLM",), "src.x.y"),
    ],
)
def test_a_files_module_strips_the_longest_root(path, roots, module):
    assert module_of_path(Path(path), roots) == module


SETTER_WITH_NESTED_RETURNS = """
def set_args(args):
    global _ARGS

    def check(value):
        return value is not None

    class Holder:
        def get(self):
            return _ARGS

    key = lambda item: item
    _ARGS = args if check(args) else None
"""


def test_args_setter_with_returns_only_in_nested_scopes_is_hooked():
    hooked = hook_args_setter(SETTER_WITH_NESTED_RETURNS, "set_args", Path("m.py"))
    assert hooked.rstrip().endswith("_patchmerge.args_ready()  # patchmerge: settle fused classes once args are set")
    compile(hooked, "m.py", "exec")


def test_args_setter_that_returns_early_is_refused():
    text = "def set_args(args):\n    def f():\n        return 1\n    if args is None:\n        return\n    f()\n"
    with pytest.raises(EditError, match="returns early"):
        hook_args_setter(text, "set_args", Path("m.py"))


def test_a_method_named_like_the_setter_is_not_the_setter():
    text = "class A:\n    def set_args(self):\n        return 1\n"
    with pytest.raises(EditError, match="no module-level function"):
        hook_args_setter(text, "set_args", Path("m.py"))


@pytest.mark.parametrize(
    "text",
    [
        "_patchmerge = 1\n",
        "import os as _patchmerge\n",
        "from x import y as _patchmerge\n",
        "def _patchmerge():\n    pass\n",
        "for _patchmerge in ():\n    pass\n",
        "def f():\n    global _patchmerge\n    _patchmerge = 2\n",
        "if True:\n    (_patchmerge := 3)\n",
    ],
)
def test_append_block_refuses_a_module_that_binds_the_helper_alias(text):
    with pytest.raises(EditError, match=r"m\.py: .*'_patchmerge'"):
        append_block(text, "megatron._patchmerge", ["x = 1"], Path("m.py"))


@pytest.mark.parametrize(
    "text",
    [
        "def f():\n    _patchmerge = 1\n",
        "X = [_patchmerge for _patchmerge in ()]\n",
        "import megatron._patchmerge as _patchmerge  # noqa: E402\n",  # an earlier merge's block
    ],
)
def test_append_block_accepts_local_bindings_and_its_own_import(text):
    assert append_block(text, "megatron._patchmerge", ["x = 1"], Path("m.py")).endswith("x = 1\n")
