"""A condition that reads, without a default, a name the adaptor's parser does not define (MindSpeed-LLM
26.1.0's `not int(args.pipeline_model_parallel_size) > 1`): the runtime's args have it only from the command
line's unknown options, a string, and where it is missing the adaptation raises AttributeError. In source the
helper's parse takes the unknown options in the same way, so the condition reads the same value, and raises the
same error as the target module is imported. Compared with runtime patching in every way a run may use the
tree, for every condition value."""

from __future__ import annotations

import json

import pytest

from tests.differential.harness import Scenario, compare, strategies

OPS = """
from megatron.calls import LOG


class Router:
    def forward(self, x):
        LOG.append("megatron.Router.forward")
        return x + 1
"""

PATCHES = """
from megatron.calls import LOG


def forward_global_aux(self, x):
    LOG.append("mindspeed_llm.forward_global_aux")
    return x * 3


def forward_gmm(self, x):
    LOG.append("mindspeed_llm.forward_gmm")
    return x * 5


def logged_wrapper(fn):
    def wrapper(self, x):
        LOG.append("mindspeed_llm.logged")
        return fn(self, x)
    return wrapper
"""

SCENARIO = """
def run():
    from megatron.core import router
    return router.Router().forward(2)
"""

TARGETS = {
    "megatron.core.router.Router.forward": [
        {"patch_import": "mindspeed_llm.patches.forward_global_aux",
         "condition": ["args.use_global_aux_loss", "not int(args.pipeline_model_parallel_size) > 1"]},
    ],
}


def _scenario(targets, sizes=(None, "1", "2")) -> Scenario:
    return Scenario(
        "unknown option read directly",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/router.py": OPS,
            "MindSpeed-LLM/mindspeed_llm/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        targets,
        extra_domains={"use_global_aux_loss": [False, True], "gmm": [False, True]},
        unknown_args=True,
        unknown_domains={"pipeline_model_parallel_size": list(sizes)},
    )


def test_a_direct_read_of_an_unknown_option_is_decided_in_source_and_raises_where_absent(tmp_path):
    outcomes = compare(tmp_path, _scenario(TARGETS))
    strategy, _ = strategies(tmp_path / "fused")["megatron.core.router.Router.forward#0"]
    assert strategy == "in-source"
    errors = {json.dumps(o.get("error")) for o in outcomes}
    assert any("AttributeError" in e and "pipeline_model_parallel_size" in e for e in errors)  # absent: raises
    assert any("mindspeed_llm.forward_global_aux" in o["calls"] for o in outcomes)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    notes = {p["id"]: " ".join(p["notes"]) for p in report["patches"]}
    assert "runtime's adaptation raises AttributeError" in notes["megatron.core.router.Router.forward#0"]
    # the runtime evaluates every registration in order, across targets; the fused tree raises as it imports
    assert "names the first its imports read, the runtime the first registered" in notes[
        "megatron.core.router.Router.forward#0"]


PP = "int(args.pipeline_model_parallel_size) > 1"


IN_ORDER_CASES = {
    "earlier branch": [{"patch_import": "mindspeed_llm.patches.forward_global_aux", "condition": [PP]},
                       {"patch_import": "mindspeed_llm.patches.forward_gmm", "condition": ["args.gmm"]}],
    "overridden": [{"patch_import": "mindspeed_llm.patches.forward_global_aux", "condition": [PP]},
                   {"patch_import": "mindspeed_llm.patches.forward_gmm"}],
    # two names that may be missing: the one registered first is the one the error names
    "two readers": [{"patch_import": "mindspeed_llm.patches.forward_global_aux", "condition": [PP]},
                    {"patch_import": "mindspeed_llm.patches.forward_gmm",
                     "condition": ["args.moe_token_dispatcher_type == 'alltoall'"]}],
    # a wrapper registered before the last branch: evaluated after the chain, unless written ahead
    "wrapper first": [{"patch_import": "mindspeed_llm.patches.logged_wrapper", "condition": [PP]},
                      {"patch_import": "mindspeed_llm.patches.forward_gmm",
                       "condition": ["args.moe_token_dispatcher_type == 'alltoall'"]}],
    # a clash registered after the reading branch: the runtime raises AttributeError first where both apply
    "clash after": [{"patch_import": "mindspeed_llm.patches.forward_global_aux", "condition": [PP],
                     "collection": "M"},
                    {"patch_import": "mindspeed_llm.patches.forward_gmm", "condition": ["args.gmm"],
                     "collection": "M"},
                    {"patch_import": "mindspeed_llm.patches.forward_global_aux",
                     "condition": ["args.use_global_aux_loss"], "collection": "M"}],
}


@pytest.mark.parametrize("name", list(IN_ORDER_CASES))
def test_where_the_chain_may_not_evaluate_such_a_condition_it_is_evaluated_first_in_registration_order(tmp_path, name):
    """The runtime evaluates every registration's condition, so a missing name raises even where a later
    registration wins; the chain tests the later one first, and never writes an overridden one's. Such a
    condition is evaluated ahead of the binding, in registration order, so the fused tree raises where the
    runtime does, with the same name missing, and takes the same code everywhere else."""
    scenario = _scenario({"megatron.core.router.Router.forward": IN_ORDER_CASES[name]})
    scenario.unknown_domains["moe_token_dispatcher_type"] = [None, "alltoall"]
    outcomes = compare(tmp_path, scenario)
    errors = {json.dumps(o.get("error")) for o in outcomes}
    assert any("'pipeline_model_parallel_size'" in e for e in errors)
    if name in ("two readers", "wrapper first"):
        assert any("'moe_token_dispatcher_type'" in e for e in errors)
    if name == "clash after":
        assert any("RuntimeError" in e for e in errors)
    assert strategies(tmp_path / "fused")["megatron.core.router.Router.forward#0"][0] == "in-source"
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/router.py").read_text()
    assert "'s condition as it adapts, in this order" in fused


@pytest.mark.parametrize("collection", [None, "M"])
def test_evaluated_ahead_in_a_tree_merged_without_probes(tmp_path, collection):
    """The statements written ahead of a binding read the helper's parse: the module imports the helper even
    where no probe does (an overridden reader, alone or tested by the runtime's clash raise)."""
    records = [{"patch_import": "mindspeed_llm.patches.forward_global_aux", "condition": [PP]},
               {"patch_import": "mindspeed_llm.patches.forward_gmm"}]
    if collection:
        records = [{**record, "collection": collection} for record in records]
    scenario = _scenario({"megatron.core.router.Router.forward": records})
    scenario.probes = False
    outcomes = compare(tmp_path, scenario)
    assert any("'pipeline_model_parallel_size'" in json.dumps(o.get("error")) for o in outcomes)
    assert strategies(tmp_path / "fused")["megatron.core.router.Router.forward#0"][0] == "in-source"


def test_a_wrapper_registered_again_under_such_a_condition_is_evaluated_ahead_in_2_2_0(tmp_path):
    """From 2.2.0 a wrapper registered always, then again under a condition, wraps once: the later registration
    is not written, yet the runtime evaluates its condition, and raises where the name is missing."""
    scenario = _scenario({"megatron.core.router.Router.forward": [
        {"patch_import": "mindspeed_llm.patches.logged_wrapper"},
        {"patch_import": "mindspeed_llm.patches.logged_wrapper", "condition": [PP]},
    ]})
    scenario.semantics = "2.2.0"
    outcomes = compare(tmp_path, scenario)
    assert any("'pipeline_model_parallel_size'" in json.dumps(o.get("error")) for o in outcomes)
    assert strategies(tmp_path / "fused")["megatron.core.router.Router.forward#0"][0] == "in-source"


def test_an_overridden_condition_written_as_the_runtimes_raise_is_evaluated_in_source(tmp_path):
    """In one collection, the later unconditional replacement without force_patch makes the runtime raise where
    the earlier condition holds: written first as `if condition: raise`, it is tested as the runtime tests it."""
    records = [{"patch_import": "mindspeed_llm.patches.forward_global_aux", "condition": [PP], "collection": "M"},
               {"patch_import": "mindspeed_llm.patches.forward_gmm", "collection": "M"}]
    outcomes = compare(tmp_path, _scenario({"megatron.core.router.Router.forward": records}))
    errors = {o["error"][0] for o in outcomes if o.get("error")}
    assert errors == {"AttributeError", "RuntimeError"}  # missing, and the runtime's clash
    assert strategies(tmp_path / "fused")["megatron.core.router.Router.forward#0"][0] == "in-source"
