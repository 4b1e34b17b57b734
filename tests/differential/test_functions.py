"""Function kinds: replacement, routes, wrappers, condition_import, stacks, patches that are themselves
patched names, targets inside MindSpeed. Each compared with runtime patching for every condition value."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, compare

ATTEMPT = """
def attempt(function, *args):
    try:
        return function(*args)
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))
"""

OPS = """
from megatron.calls import LOG


def scale(x):
    LOG.append("megatron.scale")
    return x * 2


def caller(x):
    return scale(x) + 1
"""

USER = """
from megatron.core.ops import scale


def use(x):
    return scale(x)
"""


def test_unconditional_replacement_reaches_module_globals_and_same_name_aliases(tmp_path):
    scenario = Scenario(
        "replace",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "Megatron-LM/megatron/core/user.py": USER,
            "MindSpeed/mindspeed/ops.py": """
                from megatron.calls import LOG


                def scale(x):
                    LOG.append("mindspeed.scale")
                    if x < 0:
                        raise ValueError("negative")
                    return x * 3
            """,
            "MindSpeed-LLM/scenario.py": ATTEMPT
            + """
def run():
    from megatron.core import ops, user
    return [ops.caller(2), user.use(3), attempt(user.use, -1), ops.scale.__name__, user.scale is ops.scale]
""",
        },
        {"megatron.core.ops.scale": [{"patch_import": "mindspeed.ops.scale"}]},
    )
    (outcome,) = compare(tmp_path, scenario)
    assert outcome["calls"] == ["mindspeed.scale"] * 3 and "ValueError" in outcome["result"]


ROUTES = """
from megatron.calls import LOG


def scale_a(x):
    LOG.append("a")
    return x + 10


def scale_b(x):
    LOG.append("b")
    return x + 20


def scale_x(x):
    LOG.append("x")
    return x + 30


def log_wrapper(fn):
    def inner(x):
        LOG.append("log>")
        return fn(x) * 2
    return inner


def checked_decorator(fn):
    def inner(x):
        LOG.append("checked>")
        result = fn(x)
        if result > 40:
            raise OverflowError(f"too big: {result}")
        return result
    return inner
"""

RUN_ROUTES = """

def run():
    from megatron.core import ops

    return [attempt(ops.caller, 1), attempt(ops.scale, 15)]
"""


def test_routes_and_wrappers_stacked_in_registration_order(tmp_path):
    scenario = Scenario(
        "routes",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed/mindspeed/routes.py": ROUTES,
            "MindSpeed-LLM/scenario.py": ATTEMPT + RUN_ROUTES,
        },
        {
            "megatron.core.ops.scale": [
                {"patch_import": "mindspeed.routes.scale_a", "condition": ["args.a"]},
                {"patch_import": "mindspeed.routes.log_wrapper", "condition": []},
                {"patch_import": "mindspeed.routes.scale_b", "condition": ["args.b", "not args.a"]},
                {"patch_import": "mindspeed.routes.checked_decorator", "condition": ["args.c"]},
                {"patch_import": "mindspeed.routes.scale_x", "condition": ["args.mode == 'x'"]},
            ]
        },
    )
    outcomes = compare(tmp_path, scenario)
    assert len(outcomes) == 16
    assert len({o["result"] for o in outcomes}) >= 6  # the conditions really change what runs


def test_condition_import_and_force_patch(tmp_path):
    scenario = Scenario(
        "condition_import",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed/mindspeed/routes.py": ROUTES,
            "MindSpeed-LLM/mindspeed_llm/utils.py": "def is_lora(args):\n    return bool(args.lora)\n",
            "MindSpeed-LLM/scenario.py": "def run():\n    from megatron.core import ops\n    return ops.caller(1)\n",
        },
        {
            "megatron.core.ops.scale": [
                {"patch_import": "mindspeed.routes.scale_a"},
                {
                    "patch_import": "mindspeed.routes.scale_b",
                    "condition": ["not is_lora(args)"],
                    "condition_import": ["mindspeed_llm.utils.is_lora"],
                    "force_patch": True,
                },
                {
                    "patch_import": "mindspeed.routes.log_wrapper",
                    "condition": ["is_lora(args)"],
                    "condition_import": ["mindspeed_llm.utils.is_lora"],
                },
            ]
        },
        extra_domains={"lora": [False, True]},
    )
    results = {o["result"] for o in compare(tmp_path, scenario)}
    assert results == {"22", "23"}


def test_patch_that_is_itself_a_patched_name_and_targets_inside_mindspeed(tmp_path):
    scenario = Scenario(
        "self_sourced",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/specs.py": """
                from megatron.calls import LOG


                def local_spec(n):
                    LOG.append("local_spec")
                    return ("local", n)


                def te_spec(n):
                    LOG.append("te_spec")
                    return ("te", n)
            """,
            "MindSpeed/mindspeed/specs.py": """
                from megatron.calls import LOG


                def local_spec_wrapper(fn):
                    def inner(n):
                        LOG.append("local_spec_wrapper")
                        return fn(n + 100)
                    return inner


                def helper(x):
                    LOG.append("mindspeed.helper")
                    return x
            """,
            "MindSpeed-LLM/mindspeed_llm/helpers.py": """
                from megatron.calls import LOG


                def helper(x):
                    LOG.append("llm.helper")
                    return -x
            """,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import specs
    from mindspeed import specs as ms
    return [specs.te_spec(1), specs.local_spec(2), ms.helper(3)]
""",
        },
        {
            "megatron.core.specs.te_spec": [{"patch_import": "megatron.core.specs.local_spec"}],
            "megatron.core.specs.local_spec": [{"patch_import": "mindspeed.specs.local_spec_wrapper"}],
            "mindspeed.specs.helper": [{"patch_import": "mindspeed_llm.helpers.helper", "condition": ["args.llm"]}],
        },
    )
    outcomes = compare(tmp_path, scenario)
    # the runtime registered the unwrapped local_spec for te_spec: no wrapper call on that path
    assert outcomes[0]["calls"][:2] == ["local_spec", "local_spec_wrapper"]


def test_phases_compose_as_separate_collections(tmp_path):
    scenario = Scenario(
        "phases",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed/mindspeed/routes.py": ROUTES,
            "MindSpeed-LLM/scenario.py": ATTEMPT + RUN_ROUTES,
        },
        {
            "megatron.core.ops.scale": [
                {"patch_import": "mindspeed.routes.log_wrapper", "phase": 1},
                {"patch_import": "mindspeed.routes.scale_a", "phase": 1},
                # a later collection: its wrapper wraps what phase 1 left, its replacement drops phase 1's wrapper
                {"patch_import": "mindspeed.routes.checked_decorator", "phase": 2},
                {"patch_import": "mindspeed.routes.scale_b", "condition": ["args.b"], "phase": 2},
            ]
        },
    )
    results = {o["result"] for o in compare(tmp_path, scenario)}
    assert len(results) == 2


def _twice_registered(semantics: str) -> Scenario:
    return Scenario(
        f"wrapper_twice_{semantics}",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed/mindspeed/routes.py": ROUTES,
            "MindSpeed-LLM/scenario.py": ATTEMPT + RUN_ROUTES,
        },
        {
            "megatron.core.ops.scale": [
                {"patch_import": "mindspeed.routes.log_wrapper", "condition": ["args.a"]},
                {"patch_import": "mindspeed.routes.scale_b"},
                {"patch_import": "mindspeed.routes.log_wrapper", "condition": ["args.b"]},
            ]
        },
        semantics=semantics,
    )


def test_a_wrapper_registered_twice_wraps_twice_in_2_1_0_and_once_from_2_2_0(tmp_path):
    old = {o["result"] for o in compare(tmp_path / "old", _twice_registered("2.1.0"))}
    new = {o["result"] for o in compare(tmp_path / "new", _twice_registered("2.2.0"))}
    assert len(old) == 3 and len(new) == 2  # with args.a and args.b: wrapped twice in 2.1.0, once in 2.2.0
    for semantics in ("old", "new"):  # written at the definition, one `if` per registration
        report = json.loads((tmp_path / semantics / "fused/.patchmerge/report/report.json").read_text())
        assert {p["strategy"] for p in report["patches"]} == {"in-source"}
