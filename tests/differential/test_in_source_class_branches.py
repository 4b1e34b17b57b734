"""Classes replaced by classes under conditions, fused in source: the original stays, each patch class moves
below it under its own name (it may subclass it), and the branches bind the target's name, the last registered
that holds winning. Compared with runtime patching in every way a run may use the tree, for every condition
value."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, build, compare, strategies

EXPERTS = """
import enum

from megatron.calls import LOG


class Base:
    pass


class GroupedMLP(Base):
    \"\"\"Megatron's experts.\"\"\"

    kind = "megatron"

    def __init__(self, n):
        self.n = n

    def forward(self, x):
        LOG.append("megatron.GroupedMLP.forward")
        return x * self.n


def build(n):
    return GroupedMLP(n)


class Recipe(str, enum.Enum):
    delayed = "delayed"


class Router:
    def route(self, x):
        return x


class Scaling:
    factor = 1

    def scale(self, x):
        return x * self.factor


class Gate:
    def open(self):
        return "megatron"


class GateHelper:
    def open(self):
        return "helper"


class Valve:
    def open(self):
        return "megatron valve"


class ValveHelper:
    def open(self):
        return "valve helper"
"""

SCALING = """
import math


class Scaling:
    \"\"\"MindSpeed's scaling, of the same name.\"\"\"

    factor = math.floor(2.5)

    def scale(self, x):
        return x * self.factor + 1
"""

VALVE = """
from megatron.core.experts import ValveHelper


class NpuValve(ValveHelper):
    pass
"""

GATE = """
from megatron.core.experts import GateHelper


class Gate(GateHelper):
    pass
"""

LAYER = """
from megatron.core.experts import GroupedMLP


def make():
    return GroupedMLP(2)
"""

MOE = """
from megatron.calls import LOG
from megatron.core.experts import GroupedMLP as MegatronGroupedMLP


class GmmExperts(MegatronGroupedMLP):
    \"\"\"Grouped GEMM experts.\"\"\"

    kind = "gmm"

    def forward(self, x):
        LOG.append("mindspeed.GmmExperts.forward")
        return super().forward(x) + 1
"""

MOE_FAST = """
from megatron.calls import LOG
from megatron.core.experts import GroupedMLP


class FastExperts(GroupedMLP):
    def forward(self, x):
        LOG.append("mindspeed.FastExperts.forward")
        if x < 0:
            raise ValueError("negative")
        return super().forward(x) * 10
"""

RECIPES = """
import enum


class NpuRecipe(str, enum.Enum):
    delayed = "delayed"
    mxfp8 = "mxfp8"
"""

IMPL_ROUTER = """
from megatron.core.experts import Router
from mindspeed.impl import Impl


class ImplRouter(Impl, Router):
    pass
"""

SCENARIO = """
from megatron.calls import attempt


def run():
    from megatron.core import experts, layer
    from mindspeed import moe, moe_fast
    model = experts.build(3)
    return [
        model.forward(2), attempt(model.forward, -1), type(model).__name__, [c.__name__ for c in type(model).__mro__],
        model.kind, layer.make().forward(1), experts.GroupedMLP is layer.GroupedMLP,
        issubclass(moe.GmmExperts, moe.MegatronGroupedMLP), moe.GmmExperts.__doc__, moe.GmmExperts.__qualname__,
        [r.value for r in experts.Recipe], experts.Recipe.__name__, experts.Router().route(1),
        type(experts.Router()).__name__, experts.Scaling().scale(3), experts.Scaling.__name__,
        experts.Scaling.__doc__, experts.Gate().open(), experts.Valve().open(),
    ]
"""

TARGETS = {
    "megatron.core.experts.GroupedMLP": [
        {"patch_import": "mindspeed.moe.GmmExperts", "condition": ["args.gmm"]},
        {"patch_import": "mindspeed.moe_fast.FastExperts", "condition": ["args.level == 2"]},
    ],
    "megatron.core.experts.Recipe": [{"patch_import": "mindspeed.recipes.NpuRecipe", "condition": ["args.fp8"]}],
    # its base comes from a MindSpeed module that Megatron's does not import: it stays with the runtime
    "megatron.core.experts.Router": [{"patch_import": "mindspeed.impl_router.ImplRouter", "condition": ["args.gmm"]}],
    # of the target's name: it goes above the original, bound privately, and the branch binds that
    "megatron.core.experts.Scaling": [{"patch_import": "mindspeed.scaling.Scaling", "condition": ["args.fp8"]}],
    # of the target's name, and its base is bound only below the original: it stays with the runtime
    "megatron.core.experts.Gate": [{"patch_import": "mindspeed.gate.Gate", "condition": ["args.gmm"]}],
    # of another name, below the original, and its base is bound only further down: it stays with the runtime
    "megatron.core.experts.Valve": [{"patch_import": "mindspeed.valve.NpuValve", "condition": ["args.fp8"]}],
}


def _scenario(**extra) -> Scenario:
    return Scenario(
        "classes under conditions in source",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/experts.py": EXPERTS,
            "Megatron-LM/megatron/core/layer.py": LAYER,
            "MindSpeed/mindspeed/moe.py": MOE,
            "MindSpeed/mindspeed/moe_fast.py": MOE_FAST,
            "MindSpeed/mindspeed/recipes.py": RECIPES,
            "MindSpeed/mindspeed/impl.py": "class Impl:\n    pass\n",
            "MindSpeed/mindspeed/impl_router.py": IMPL_ROUTER,
            "MindSpeed/mindspeed/scaling.py": SCALING,
            "MindSpeed/mindspeed/gate.py": GATE,
            "MindSpeed/mindspeed/valve.py": VALVE,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
        **extra,
    )


def test_classes_under_conditions_are_fused_in_source_and_run_like_the_runtime(tmp_path):
    outcomes = compare(tmp_path, _scenario())
    chosen = strategies(tmp_path / "fused")
    assert {chosen[f"megatron.core.experts.GroupedMLP#{i}"][0] for i in (0, 1)} == {"in-source"}
    assert chosen["megatron.core.experts.Recipe#0"][0] == "in-source"
    router = chosen["megatron.core.experts.Router#0"]
    assert router[0] == "deferred" and "'Impl' is read when ImplRouter is defined" in router[1]
    assert chosen["megatron.core.experts.Scaling#0"][0] == "in-source"
    gate = chosen["megatron.core.experts.Gate#0"]
    assert gate[0] == "deferred" and "reads 'GateHelper' when it is defined" in gate[1]
    valve = chosen["megatron.core.experts.Valve#0"]
    assert valve[0] == "deferred" and "reads 'ValveHelper' when it is defined" in valve[1]
    assert len({o["result"] for o in outcomes}) > 3
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    notes = {p["id"]: " ".join(p["notes"]) for p in report["patches"]}
    assert "derives from the original GroupedMLP" in notes["megatron.core.experts.GroupedMLP#1"]
    assert "pickled by name there, it is not found" in notes["megatron.core.experts.Scaling#0"]


def test_with_the_2_2_0_semantics_too(tmp_path):
    compare(tmp_path, _scenario(semantics="2.2.0"))


def test_the_patch_classes_read_as_code_below_the_original(tmp_path):
    _, fused = build(tmp_path, _scenario())
    experts = (fused / "Megatron-LM/megatron/core/experts.py").read_text()
    assert "class GroupedMLP(Base):" in experts  # Megatron's, kept
    assert "MegatronGroupedMLP = GroupedMLP\n" in experts
    assert "class GmmExperts(MegatronGroupedMLP):" in experts and "class FastExperts(GroupedMLP):" in experts
    assert experts.index("class GroupedMLP(") < experts.index("class GmmExperts(") < experts.index(
        "if _patchmerge.adaptation_args().level == 2:\n    GroupedMLP = FastExperts")
    assert "elif _patchmerge.adaptation_args().gmm:\n    GroupedMLP = GmmExperts" in experts
    assert "class Scaling:\n    \"\"\"MindSpeed's scaling" in experts
    assert "_scaling_Scaling = Scaling  # mindspeed.scaling.Scaling itself" in experts
    assert experts.index("_scaling_Scaling = Scaling") < experts.index("class Scaling:\n    factor = 1")
    assert "if _patchmerge.adaptation_args().fp8:\n    Scaling = _scaling_Scaling" in experts
    scaling = (fused / "MindSpeed/mindspeed/scaling.py").read_text()
    assert "from megatron.core.experts import _scaling_Scaling as Scaling" in scaling
    moe = (fused / "MindSpeed/mindspeed/moe.py").read_text()
    assert "from megatron.core.experts import GmmExperts" in moe and "class GmmExperts" not in moe


def test_an_earlier_branch_reading_an_unknown_option_directly_is_evaluated_first(tmp_path):
    """MindSpeed 26.1.0 replaces TEDotProductAttention under several conditions, one of which reads
    `args.transformer_impl`, an option only the command line's unknown options give: the runtime evaluates it
    as it adapts, and raises where it is missing, even where a later registration wins. Written ahead of the
    chain, in registration order, the fused tree does the same."""
    targets = {"megatron.core.experts.GroupedMLP": [
        {"patch_import": "mindspeed.moe.GmmExperts", "condition": ["args.transformer_impl == 'local'"]},
        {"patch_import": "mindspeed.moe_fast.FastExperts", "condition": ["args.level == 2"]},
    ]}
    scenario = _scenario(unknown_args=True, unknown_domains={"transformer_impl": [None, "local", "te"]})
    scenario.patches = targets
    outcomes = compare(tmp_path, scenario)
    assert {chosen[0] for chosen in strategies(tmp_path / "fused").values()} == {"in-source"}
    errors = {json.dumps(o.get("error")) for o in outcomes}
    assert any("'transformer_impl'" in e for e in errors)
    assert any("'GmmExperts'" in json.dumps(o["result"]) for o in outcomes)
