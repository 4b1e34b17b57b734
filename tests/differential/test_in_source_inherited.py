"""Inherited members replaced by a patch (`TopKRouter.gating`, which TopKRouter gets from Router): the
runtime's setattr gives the class a member of its own, so the fusion writes the def into the class body, a
conditional one under its condition (no branch taken: the base's again). The base, its other subclasses and the
class's own subclasses see what they see at runtime. Compared with runtime patching in every way a run may use
the tree, for every condition value; and what cannot be written that way falls back, saying why."""

from __future__ import annotations

import pytest

from tests.differential.harness import Scenario, compare, strategies

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
    after = fused[fused.index("class TopKRouter(Router):"):fused.index("class SinkhornRouter")]
    assert "    TopKRouter.gating = " in after  # set right after the class statement, as the runtime's setattr


def test_set_on_the_class_after_its_statement_as_the_runtime_does_not_a_def_of_its_body(tmp_path):
    """What a def in the class body would change: an abstract method stays abstract (an ABC counts only a def
    in the body), a class that gets `__eq__` keeps its hash, `__init_subclass__` stays a plain function, and a
    name `__x` is not mangled. Each as at runtime."""
    router = ROUTER + """

class Point:
    def __init__(self, x):
        self.x = x


class Registry:
    pass
"""
    patches = PATCHES + """

def point_eq(self, other):
    return self.x == other.x


def registry_init_subclass(cls, **kwargs):
    cls.registered = True


def partial_routing(self, x):
    self.__seen = x
    return sorted(vars(self))
"""
    scenario_code = """
def run():
    from megatron.core import router
    out = []
    for attempt in (lambda: router.PartialRouter().routing(1), lambda: hash(router.Point(1)) is not None,
                    lambda: router.Point(1) == router.Point(1),
                    lambda: type("Sub", (router.Registry,), {}).__dict__.get("registered")):
        try:
            out.append(attempt())
        except Exception as exc:
            out.append(type(exc).__name__)
    return out
"""
    scenario = _scenario({
        "megatron.core.router.PartialRouter.routing": [{"patch_import": "mindspeed.router.partial_routing"}],
        "megatron.core.router.Point.__eq__": [{"patch_import": "mindspeed.router.point_eq", "condition": ["args.eq"]}],
        "megatron.core.router.Registry.__init_subclass__": [
            {"patch_import": "mindspeed.router.registry_init_subclass"}],
    })
    scenario.files.update({"Megatron-LM/megatron/core/router.py": router, "MindSpeed/mindspeed/router.py": patches,
                           "MindSpeed-LLM/scenario.py": scenario_code})
    outcomes = compare(tmp_path, scenario)
    assert any("TypeError" in o["result"] for o in outcomes)  # PartialRouter stays abstract, as at runtime
    assert {strategy for strategy, _ in strategies(tmp_path / "fused").values()} == {"in-source"}


CELL_PATCHES = """
from megatron.calls import LOG
from megatron.core.router import TopKRouter


def bare_super_routing(self, x):
    LOG.append("mindspeed.bare_super_routing")
    parent = super  # any read of super gives a def in a class body its class cell
    return parent().routing(x)


def class_name_routing(self, x):
    LOG.append("mindspeed.class_name_routing:" + self.__class__.__name__)
    return [x]


def explicit_super_gating(self, x):
    LOG.append("mindspeed.explicit_super_gating")
    return super(TopKRouter, self).gating(x) * 3
"""


@pytest.mark.parametrize("bare", [True, False], ids=["super-read", "explicit-super"])
def test_a_def_that_needs_a_class_cell_is_not_written_into_the_class(tmp_path, bare):
    """A module-level function calling `super()` bare fails at runtime (no class cell); written into the class
    body it would work, so it stays deferred and fails the same. `super(TopKRouter, self)` is fused in source.
    (Under a condition the def stays at module level beside the class, so it fails the same in source.)"""
    patch = "bare_super_routing" if bare else "explicit_super_gating"
    target = "megatron.core.router.TopKRouter.routing"  # its own def: the replacement is written in the body
    scenario = _scenario({target: [{"patch_import": f"mindspeed.router.{patch}"}],
                          "megatron.core.router.SinkhornRouter.gating": [
                              {"patch_import": "mindspeed.router.bare_super_routing", "condition": ["args.bare"]}]})
    scenario.files["MindSpeed/mindspeed/router.py"] = CELL_PATCHES
    outcomes = compare(tmp_path, scenario)
    assert any(o["error"] and o["error"][0] == "RuntimeError" for o in outcomes)
    strategy, reason = strategies(tmp_path / "fused")[f"{target}#0"]
    expected = ("deferred", True) if bare else ("in-source", False)
    assert (strategy, "reads super" in reason) == expected


def test_self_class_is_no_class_cell_and_a_private_name_stays_unmangled(tmp_path):
    """`self.__class__` is an attribute, not the class cell: the replacement is written into the class. A
    replacement that names `self.__seen` is not: a class body would mangle it to `_TopKRouter__seen`."""
    patches = CELL_PATCHES + """

def private_gating(self, x):
    self.__seen = x
    return sorted(name for name in vars(self) if "seen" in name)
"""
    scenario = _scenario({
        "megatron.core.router.TopKRouter.routing": [{"patch_import": "mindspeed.router.class_name_routing"}],
        "megatron.core.router.SinkhornRouter.routing": [{"patch_import": "mindspeed.router.private_gating",
                                                         "condition": ["args.fast"]}],
    })
    scenario.files["MindSpeed/mindspeed/router.py"] = patches
    compare(tmp_path, scenario)
    by_id = strategies(tmp_path / "fused")
    assert by_id["megatron.core.router.TopKRouter.routing#0"][0] == "in-source"
    scenario.patches = {"megatron.core.router.SinkhornRouter.routing": [
        {"patch_import": "mindspeed.router.private_gating"}]}
    other = tmp_path / "unconditional"
    other.mkdir()
    compare(other, scenario)
    strategy, reason = strategies(other / "fused")["megatron.core.router.SinkhornRouter.routing#0"]
    assert strategy == "deferred" and "names __seen, which a class body would mangle" in reason
