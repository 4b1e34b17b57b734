"""Inherited members replaced by a patch (`TopKRouter.gating`, which TopKRouter gets from Router): the
runtime's setattr gives the class a member of its own, so the fusion writes the def into the class body, a
conditional one under its condition (no branch taken: the base's again). The base, its other subclasses and the
class's own subclasses see what they see at runtime. Compared with runtime patching in every way a run may use
the tree, for every condition value; and what cannot be written that way falls back, saying why."""

from __future__ import annotations

import pytest

from tests.differential.harness import Scenario, build, compare, strategies

ROUTER = """
from abc import ABC, abstractmethod

from megatron.calls import LOG


class Router(ABC):
    def gating(self, x):
        LOG.append("megatron.Router.gating")
        return x + 1

    @abstractmethod
    def routing(self, x):
        ...

    def forward(self, x):
        return self.routing(self.gating(x))


class TopKRouter(Router):
    def routing(self, x):
        return [x]


class SinkhornRouter(Router):
    def routing(self, x):
        return (x,)


class ExpertChoiceRouter(TopKRouter):
    pass


class PartialRouter(Router):
    pass
"""

PATCHES = """
from megatron.calls import LOG


def topk_router_gating(self, x):
    LOG.append("mindspeed.topk_router_gating:" + type(self).__name__)
    return x * 10


def ms_topk_router_gating(self, x):
    LOG.append("mindspeed.ms_topk_router_gating")
    return -x


def topk_router_routing(self, x):
    return [x, x]
"""

SCENARIO = """
def run():
    from megatron.core.router import ExpertChoiceRouter, Router, SinkhornRouter, TopKRouter
    return [TopKRouter().forward(2), SinkhornRouter().forward(3), ExpertChoiceRouter().forward(4),
            "gating" in vars(TopKRouter), Router.gating is SinkhornRouter.gating]
"""


def _scenario(patches: dict) -> Scenario:
    return Scenario(
        "inherited members replaced",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/router.py": ROUTER,
            "MindSpeed/mindspeed/__init__.py": "",
            "MindSpeed/mindspeed/router.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        patches,
    )



@pytest.mark.parametrize("conditional_only", [False, True], ids=["replaced-then-routed", "routed-only"])
def test_an_inherited_member_replaced_is_a_def_of_the_class_in_source_like_the_runtime(tmp_path, conditional_only):
    records = [{"patch_import": "mindspeed.router.topk_router_gating"},
               {"patch_import": "mindspeed.router.ms_topk_router_gating", "condition": ["args.ms"],
                "force_patch": True}]
    if conditional_only:
        records = [{**records[0], "condition": ["args.fast"]}, records[1]]
    outcomes = compare(tmp_path, _scenario({"megatron.core.router.TopKRouter.gating": records}))
    assert len({o["result"] for o in outcomes}) >= 2
    assert {strategy for strategy, _ in strategies(tmp_path / "fused").values()} == {"in-source"}
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/router.py").read_text()
    klass = fused[fused.index("class TopKRouter(Router):"):fused.index("class SinkhornRouter")]
    assert "gating" in klass  # written into the class that gets it, not patched on from outside


def test_an_inherited_abstract_method_replaced_falls_back_with_the_reason(tmp_path):
    """The runtime's setattr leaves PartialRouter abstract (an ABC counts only a def in the body); a def in
    the body would make it concrete. A concrete inherited method is written in source."""
    _, fused = build(tmp_path, _scenario({
        "megatron.core.router.PartialRouter.routing": [{"patch_import": "mindspeed.router.topk_router_routing"}],
        "megatron.core.router.ExpertChoiceRouter.routing": [{"patch_import": "mindspeed.router.topk_router_routing",
                                                             "condition": ["args.fast"]}],
    }))
    by_id = strategies(fused)
    assert by_id["megatron.core.router.ExpertChoiceRouter.routing#0"][0] == "in-source"
    assert by_id["megatron.core.router.PartialRouter.routing#0"] == (
        "deferred", "an abstract method inherited and replaced: a def in the class body would make the class concrete"
    )


CELL_PATCHES = """
from megatron.calls import LOG
from megatron.core.router import TopKRouter


def bare_super_routing(self, x):
    LOG.append("mindspeed.bare_super_routing")
    return super().routing(x)


def explicit_super_gating(self, x):
    LOG.append("mindspeed.explicit_super_gating")
    return super(TopKRouter, self).gating(x) * 3
"""


@pytest.mark.parametrize("bare", [True, False], ids=["bare-super", "explicit-super"])
def test_a_def_that_needs_a_class_cell_is_not_written_into_the_class(tmp_path, bare):
    """A module-level function calling `super()` bare fails at runtime (no class cell); written into the class
    body it would work, so it stays deferred and fails the same. `super(TopKRouter, self)` is fused in source.
    (Under a condition the def stays at module level beside the class, so it fails the same in source.)"""
    patch = "bare_super_routing" if bare else "explicit_super_gating"
    target = "megatron.core.router.TopKRouter." + ("routing" if bare else "gating")
    scenario = _scenario({target: [{"patch_import": f"mindspeed.router.{patch}"}],
                          "megatron.core.router.SinkhornRouter.gating": [
                              {"patch_import": "mindspeed.router.bare_super_routing", "condition": ["args.bare"]}]})
    scenario.files["MindSpeed/mindspeed/router.py"] = CELL_PATCHES
    outcomes = compare(tmp_path, scenario)
    assert any(o["error"] and o["error"][0] == "RuntimeError" for o in outcomes)
    strategy, reason = strategies(tmp_path / "fused")[f"{target}#0"]
    expected = ("deferred", True) if bare else ("in-source", False)
    assert (strategy, "calls super() without arguments" in reason) == expected
