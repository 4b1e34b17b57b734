"""A function replaced by another def of its own module (MindSpeed-LLM registers Megatron's
`get_gpt_layer_local_spec` as `get_gpt_layer_with_transformer_engine_spec`, and wraps `get_gpt_layer_local_spec`
too): the runtime registered the def bound before patching, so the first name keeps Megatron's def while the
second is wrapped. In source the first def goes and its name is bound to the other def right after it, before
that def's wrappers apply. Compared with runtime patching in every way a run may use the tree."""

from __future__ import annotations

import json

import pytest

from tests.differential.harness import Scenario, build, compare

SPECS = """
from megatron.calls import LOG


def with_engine(n):
    \"\"\"The engine's spec.\"\"\"
    LOG.append("megatron.with_engine")
    return ["engine", n]


def local(n):
    \"\"\"The local spec.\"\"\"
    LOG.append("megatron.local")
    return ["local", n]


def build(n):
    return with_engine(n) + local(n)
"""

PATCHES = """
from functools import wraps

from megatron.calls import LOG


def local_wrapper(fn):
    @wraps(fn)
    def wrapper(n):
        LOG.append("local_wrapper>")
        if n < 0:
            raise ValueError("negative")
        return fn(n) + ["norm"]
    return wrapper
"""

SCENARIO = """
from megatron.calls import attempt


def run():
    from megatron.core import specs
    from megatron.core.specs import local, with_engine
    return [specs.build(2), with_engine(3), local(4), attempt(local, -1), with_engine.__name__,
            with_engine.__doc__, specs.with_engine is specs.local]
"""

ALIAS = {"megatron.core.specs.with_engine": [{"patch_import": "megatron.core.specs.local"}]}
WRAPPED = {"megatron.core.specs.local": [
    {"patch_import": "mindspeed_llm.patches.local_wrapper", "condition": ["args.norm"]},
]}


def _scenario(targets: dict) -> Scenario:
    return Scenario(
        "a function replaced by another def of its module",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/specs.py": SPECS,
            "MindSpeed-LLM/mindspeed_llm/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        targets,
        extra_domains={"norm": [False, True]},
    )


@pytest.mark.parametrize("targets", [{**ALIAS, **WRAPPED}, {**WRAPPED, **ALIAS}, ALIAS], ids=["alias-first",
                                                                                              "wrapped-first", "alone"])
def test_the_name_keeps_megatrons_def_while_the_def_is_wrapped(tmp_path, targets):
    compare(tmp_path, _scenario(targets))
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}
    specs = (tmp_path / "fused/Megatron-LM/megatron/core/specs.py").read_text()
    assert "def with_engine" not in specs and "megatron.with_engine" not in specs
    # bound right below the def, before its wrapper applies; the def's first run counts for both bindings
    assert "\nwith_engine = local\n" in specs
    if "megatron.core.specs.local" in targets:
        assert specs.index("with_engine = local") < specs.index("local = local_wrapper(local)")
    assert "'megatron.core.specs.with_engine#0')" in specs


def _phased() -> Scenario:
    alias = {"megatron.core.specs.with_engine": [{"patch_import": "megatron.core.specs.local", "phase": 1}]}
    wrapped = {"megatron.core.specs.local": [
        {"patch_import": "mindspeed_llm.patches.local_wrapper", "condition": ["args.norm"], "phase": 0},
    ]}
    scenario = _scenario({**wrapped, **alias})
    # what calls give (a deferred binding shows its stand-in's name until its first call)
    scenario.files["MindSpeed-LLM/scenario.py"] = (
        "from megatron.calls import attempt\n\n\ndef run():\n    from megatron.core import specs\n"
        "    return [specs.build(2), specs.with_engine(3), specs.local(4), attempt(specs.local, -1)]\n"
    )
    return scenario


def test_a_def_patched_in_an_earlier_phase_is_registered_patched_so_the_alias_falls_back(tmp_path):
    """The alias is registered in phase 1, after phase 0 wrapped the def: the runtime binds the wrapped one, so
    the def as Megatron wrote it is not what the name gets; the binding is left to the deferred strategy."""
    pristine, fused = build(tmp_path, _phased())
    report = json.loads((fused / ".patchmerge/report/report.json").read_text())
    strategies = {p["id"]: (p["strategy"], p["strategy_reason"] or "") for p in report["patches"]}
    strategy, reason = strategies["megatron.core.specs.with_engine#0"]
    assert strategy == "deferred" and "patched in an earlier phase (0)" in reason


def test_the_deferred_fallback_of_a_phased_alias_runs_like_the_runtime(tmp_path):
    # the alias's phase comes after every patch of the def it names: it gets the def as those left it
    compare(tmp_path, _phased())


def test_a_patch_wrapped_in_an_earlier_phase_is_registered_wrapped(tmp_path):
    """with_engine is replaced in phase 1 by a MindSpeed-LLM function that phase 0 wrapped: the runtime
    registers the wrapped one, so moving the def as written would lose the wrapper; the deferred strategy
    binds the name as phase 0 left it."""
    scenario = _scenario({
        "mindspeed_llm.patches.engine_fast": [
            {"patch_import": "mindspeed_llm.patches.local_wrapper", "condition": ["args.norm"], "phase": 0},
        ],
        "megatron.core.specs.with_engine": [{"patch_import": "mindspeed_llm.patches.engine_fast", "phase": 1}],
    })
    scenario.files["MindSpeed-LLM/mindspeed_llm/patches.py"] = PATCHES + (
        "\n\ndef engine_fast(n):\n    LOG.append('mindspeed_llm.engine_fast')\n    return ['fast', n]\n"
    )
    scenario.files["MindSpeed-LLM/scenario.py"] = (
        "from megatron.calls import attempt\n\n\ndef run():\n    from megatron.core import specs\n"
        "    return [specs.build(2), specs.with_engine(3), attempt(specs.with_engine, -1)]\n"
    )
    outcomes = compare(tmp_path, scenario)
    assert any("local_wrapper>" in o["calls"] for o in outcomes)  # the wrapper reaches with_engine at runtime
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    strategies = {p["id"]: (p["strategy"], p["strategy_reason"] or "") for p in report["patches"]}
    strategy, reason = strategies["megatron.core.specs.with_engine#0"]
    assert strategy == "deferred" and "mindspeed_llm.patches.engine_fast is patched in an earlier phase" in reason
