"""A module function bound only by defs in `if`/`try` blocks (Megatron's `fp8_utils.get_fp8_context`: one def where
Transformer Engine imports, another where it does not): no one def is the target, so the replacement rebinds the
name at the end of the module, as a module value's does. A patch of the function's own name moves there under
that name (its `__name__` stays), the module's own def held aside around it. Compared with runtime patching in
every way a run may use the tree, for every combination of condition values."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, build, compare

FP8 = """
from megatron.calls import LOG

try:
    import te_missing_package  # noqa: F401
    HAVE_TE = True
except ImportError:
    HAVE_TE = False

if HAVE_TE:
    def get_context(layer):
        LOG.append("megatron.te.get_context")
        return f"te:{layer}"
else:
    def get_context(layer):
        LOG.append("megatron.get_context")
        return f"none:{layer}"

try:
    from te_missing_package import fallback
except ImportError:
    def fallback(x):
        LOG.append("megatron.fallback")
        return x


def use_own(layer):
    return get_context(layer)
"""

BLOCK = """
from megatron.core.fp8 import fallback, get_context


def forward(layer):
    return [get_context(layer), fallback(layer)]
"""

PATCHES = """
from megatron.calls import LOG

PREFIX = "npu"


def get_context(layer):
    LOG.append("mindspeed.get_context")
    return f"{PREFIX}:{layer}"


def fast_fallback(x):
    LOG.append("mindspeed.fast_fallback")
    return x * 2
"""

SCENARIO = """
def run():
    from megatron.core import block, fp8
    from mindspeed import fp8_patches
    return [
        block.forward(3), fp8.use_own(4), fp8.get_context.__name__, fp8.fallback.__name__,
        fp8.get_context is fp8_patches.get_context, block.get_context is fp8.get_context,
        block.fallback is fp8.fallback,
    ]
"""

TARGETS = {
    "megatron.core.fp8.get_context": [{"patch_import": "mindspeed.fp8_patches.get_context", "condition": ["args.fp8"]}],
    "megatron.core.fp8.fallback": [{"patch_import": "mindspeed.fp8_patches.fast_fallback"}],
}


def _scenario() -> Scenario:
    return Scenario(
        "functions bound by defs in if and try blocks",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/fp8.py": FP8,
            "Megatron-LM/megatron/core/block.py": BLOCK,
            "MindSpeed/mindspeed/fp8_patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
    )


def test_functions_defined_in_blocks_are_rebound_at_the_end_of_their_module_like_the_runtime(tmp_path):
    outcomes = compare(tmp_path, _scenario())
    assert {o["result"] for o in outcomes} == {
        "[['npu:3', 6], 'npu:4', 'get_context', 'fast_fallback', True, True, True]",
        "[['none:3', 6], 'none:4', 'get_context', 'fast_fallback', False, True, True]",
    }
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["id"]: p["strategy"] for p in report["patches"]} == dict.fromkeys(
        ("megatron.core.fp8.get_context#0", "megatron.core.fp8.fallback#0"), "in-source")


def test_the_module_keeps_its_own_defs_and_binds_the_patches_at_its_end(tmp_path):
    _, fused = build(tmp_path, _scenario())
    fp8 = (fused / "Megatron-LM/megatron/core/fp8.py").read_text()
    assert fp8.count("def get_context(layer):") == 3  # Megatron's two, and the patch's
    assert 'return f"none:{layer}"' in fp8 and 'return f"te:{layer}"' in fp8
    end = fp8[fp8.index("def use_own"):]
    assert "_megatron_get_context = get_context" in end and "get_context = _megatron_get_context" in end
    assert "if _patchmerge.adaptation_args().fp8:\n    get_context = _fp8_patches_get_context" in end
    assert "def fast_fallback(x):" in end and "fallback = fast_fallback" in end
    patches = (fused / "MindSpeed/mindspeed/fp8_patches.py").read_text()
    assert "def get_context" not in patches and "def fast_fallback" not in patches



def test_a_function_replaced_both_always_and_under_a_condition_stays_with_the_deferred_strategy(tmp_path):
    """The end-of-module chain of a value writes its conditional branches only: where an unconditional
    replacement comes with them, the binding falls back (found in review: the unconditional one was dropped)."""
    files = {**_scenario().files, "MindSpeed/mindspeed/fp8_patches.py": PATCHES + (
        "\n\ndef other_context(layer):\n    LOG.append('mindspeed.other_context')\n    return f'other:{layer}'\n")}
    targets = {"megatron.core.fp8.get_context": [
        {"patch_import": "mindspeed.fp8_patches.other_context"},
        {"patch_import": "mindspeed.fp8_patches.get_context", "condition": ["args.fp8"]},
    ]}
    scenario = Scenario("a function in blocks replaced always and under a condition", files, targets)
    outcomes = compare(tmp_path, scenario)
    assert {o["result"][:20] for o in outcomes} == {"[['other:3', 3], 'ot", "[['npu:3', 3], 'npu:"}
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"deferred"}


def _optional(defined_where: str) -> Scenario:
    module = (
        "try:\n    import te_missing_package  # noqa: F401\n    HAVE_TE = True\n"
        "except ImportError:\n    HAVE_TE = False\n\n"
        f"if {defined_where}:\n    def te_only(x):\n        return f'te:{{x}}'\n"
    )
    return Scenario(
        f"a function defined only where {defined_where}",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/optional.py": module,
            "MindSpeed/mindspeed/optional_patches.py": "def te_only(x):\n    return f'npu:{x}'\n",
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from megatron.core import optional\n"
                "    found = getattr(optional, 'te_only', None)\n    return found(2) if found else None\n"
            ),
        },
        {"megatron.core.optional.te_only": [
            {"patch_import": "mindspeed.optional_patches.te_only", "condition": ["args.fp8"]}]},
    )


def test_a_function_not_defined_on_every_path_stays_with_the_deferred_strategy(tmp_path):
    """Where a def may not have run (`if ...:` with no else), the module may have no def of its own to hold aside
    at its end: the binding falls back (here the def runs, and the deferred strategy binds as the runtime)."""
    outcomes = compare(tmp_path, _optional("not HAVE_TE"))
    assert {o["result"] for o in outcomes} == {"'npu:2'", "'te:2'"}
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert [p["strategy"] for p in report["patches"]] == ["deferred"]


def test_a_function_whose_def_did_not_run_is_a_known_gap_of_the_deferred_strategy(tmp_path):
    """Where no def ran, the runtime binds the patch where nothing was (the condition holding) or leaves the name
    unbound; the deferred strategy's stand-in reads the name, unbound there, as the module loads."""
    scenario = _optional("HAVE_TE")
    why = "the deferred stand-in of a function reads the name as the module loads, where no def bound it"
    scenario.known_broken = dict.fromkeys(("plain", "adaptor", "patch_first", "args_after"), why)
    scenario.broken_shows = "NameError: name 'te_only' is not defined"
    compare(tmp_path, scenario)


def test_a_value_bound_only_under_an_if_keeps_its_branch_import_for_a_function_of_its_name(tmp_path):
    """Only a function bound by defs on every path is held aside at the module's end: a value assigned only where a
    library imports may be unbound there, so a patch function of its name is imported by its branch, as before
    (found in review: holding it aside raised NameError at import)."""
    scenario = Scenario(
        "a value bound only where a library imports, replaced under a condition by a function of its name",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/sorting.py": (
                "try:\n    import fastlib_missing\n    HAVE = True\nexcept ImportError:\n    HAVE = False\n\n"
                "if HAVE:\n    fused_sort = fastlib_missing.sort\n"
            ),
            "MindSpeed/mindspeed/sort_patches.py": "def fused_sort(x):\n    return sorted(x)\n",
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from megatron.core import sorting\n"
                "    found = getattr(sorting, 'fused_sort', 'absent')\n"
                "    return found([2, 1]) if callable(found) else repr(found)\n"
            ),
        },
        {"megatron.core.sorting.fused_sort": [
            {"patch_import": "mindspeed.sort_patches.fused_sort", "condition": ["args.fast"]}]},
    )
    outcomes = compare(tmp_path, scenario)
    assert {o["result"] for o in outcomes} == {"[1, 2]", "\"'absent'\""}
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert [p["strategy"] for p in report["patches"]] == ["in-source"]
