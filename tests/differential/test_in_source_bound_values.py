"""Module values a module binds by an assignment or an import, in `try`/`if` blocks (`ops = lib.ops if ... else
None`, a class defined where a library is recent enough and None elsewhere), and names created under a condition:
fused in source, rebound at the end of their module (always, or under their conditions), where every other
module holding the value under that name imports it from there and reads it only when called. Where another
module may hold the same object under that name by itself (`fused_scale = None` in two modules), or reads it
as it loads, the binding stays deferred, as faithful. Compared with runtime patching in every way a run may use
the tree, for every combination of condition values."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, build, compare

BLOCK = """
from megatron.calls import LOG

try:
    from fastsort_missing_package import sort_chunks_by_index
    fused_sort = sort_chunks_by_index
except ImportError:
    fused_sort = None

try:
    import groupedlib_missing
except ImportError:
    groupedlib_missing = None


def grouped_available():
    return groupedlib_missing is not None


ops = groupedlib_missing.ops if grouped_available() else None
OPS_AT_IMPORT = ops  # read as the module loads: the original, as at runtime

if not grouped_available():
    class GroupedLinear:
        def __init__(self, size):
            LOG.append("megatron.GroupedLinear")
            self.size = size

        def forward(self):
            return f"megatron:{self.size}"
else:
    GroupedLinear = None
"""

SPECS = """
from megatron.core.block import GroupedLinear, fused_sort, ops


def use_ops(x):
    return ops.gmm(x) if ops is not None else None


def use_sort(chunks):
    return fused_sort(chunks) if fused_sort is not None else list(chunks)


def make_linear(size):
    return GroupedLinear(size).forward() if GroupedLinear is not None else None
"""

KERNELS = """
from megatron.calls import LOG


class Ops:
    @staticmethod
    def gmm(x):
        LOG.append("mindspeed.Ops.gmm")
        return x * 10
"""

# named as what the target's module imports from the library: defined there it would take that name, so its
# branch imports it
SORTING = """
from megatron.calls import LOG


def sort_chunks_by_index(chunks):
    LOG.append("mindspeed.sort_chunks_by_index")
    return sorted(chunks)
"""

KERNELS_V2 = """
from megatron.calls import LOG
from megatron.core import block


def _order(chunks):
    return sorted(chunks, reverse=True)


def sort_chunks_v2(chunks):
    LOG.append(f"mindspeed.sort_chunks_v2 over {block.__name__}")
    return _order(chunks)
"""

GROUPED = """
from megatron.calls import LOG


class NpuGroupedLinear:
    def __init__(self, size):
        LOG.append("mindspeed.NpuGroupedLinear")
        self.size = size

    def forward(self):
        return f"npu:{self.size}"
"""

GROUPED_FAST = """
from megatron.calls import LOG


class GroupedLinear:
    def __init__(self, size):
        LOG.append("mindspeed.fast.GroupedLinear")
        self.size = size * 2

    def forward(self):
        return f"fast:{self.size}"
"""

LAYOUT = """
class LayerKind:
    DENSE = "dense"
    MOE = "moe"
"""

SCENARIO = """
from megatron.calls import attempt


def run():
    from megatron.core import block, enums, specs
    from mindspeed import grouped, kernels, sorting
    return [
        attempt(specs.use_ops, 3), attempt(specs.use_sort, [3, 1, 2]), attempt(specs.make_linear, 4),
        getattr(getattr(enums, "LayerKind", None), "MOE", None), block.OPS_AT_IMPORT,
        block.ops is kernels.Ops, specs.ops is block.ops, specs.fused_sort is block.fused_sort,
        specs.GroupedLinear is block.GroupedLinear, block.GroupedLinear is grouped.NpuGroupedLinear,
        block.fused_sort is sorting.sort_chunks_by_index,
    ]
"""

TARGETS = {
    "megatron.core.block.ops": [{"patch_import": "mindspeed.kernels.Ops"}],
    "megatron.core.block.fused_sort": [
        {"patch_import": "mindspeed.sorting.sort_chunks_by_index", "condition": ["args.fast_sort"]},
        {"patch_import": "mindspeed.kernels_v2.sort_chunks_v2", "condition": ["args.gmm"]},
    ],
    "megatron.core.block.GroupedLinear": [
        {"patch_import": "mindspeed.grouped.NpuGroupedLinear", "condition": ["args.gmm"]},
        {"patch_import": "mindspeed.grouped_fast.GroupedLinear", "condition": ["args.fast_sort", "args.layout"]},
    ],
    "megatron.core.enums.LayerKind": [{"patch_import": "mindspeed.layout.LayerKind", "condition": ["args.layout"]}],
}


def _scenario() -> Scenario:
    return Scenario(
        "module values bound by assignments and imports, fused in source",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/block.py": BLOCK,
            "Megatron-LM/megatron/core/specs.py": SPECS,
            "Megatron-LM/megatron/core/enums.py": "class ModelType:\n    GPT = 'gpt'\n",
            "MindSpeed/mindspeed/kernels.py": KERNELS,
            "MindSpeed/mindspeed/kernels_v2.py": KERNELS_V2,
            "MindSpeed/mindspeed/sorting.py": SORTING,
            "MindSpeed/mindspeed/grouped.py": GROUPED,
            "MindSpeed/mindspeed/grouped_fast.py": GROUPED_FAST,
            "MindSpeed/mindspeed/layout.py": LAYOUT,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
    )


def _strategies(fused) -> dict[str, tuple[str, str | None]]:
    report = json.loads((fused / ".patchmerge/report/report.json").read_text())
    return {p["id"]: (p["strategy"], p.get("strategy_reason")) for p in report["patches"]}


def test_bound_values_are_rebound_at_the_end_of_their_module_like_the_runtime(tmp_path):
    outcomes = compare(tmp_path, _scenario())
    assert {o["result"] for o in outcomes} >= {
        "[30, [3, 2, 1], 'npu:4', None, None, True, True, True, True, True, False]",  # gmm only
        "[30, [1, 2, 3], 'fast:8', 'moe', None, True, True, True, True, False, True]",  # fast_sort and layout
        "[30, [3, 1, 2], 'megatron:4', None, None, True, True, True, True, False, False]",  # no condition
    }
    assert {strategy for strategy, _ in _strategies(tmp_path / "fused").values()} == {"in-source"}


def test_the_fused_module_shows_each_value_s_code_at_its_end(tmp_path):
    _, fused = build(tmp_path, _scenario())
    block = (fused / "Megatron-LM/megatron/core/block.py").read_text()
    tail = block[block.index("    GroupedLinear = None"):]
    assert "ops = groupedlib_missing.ops if grouped_available() else None" in block  # Megatron's, kept
    assert "class Ops:" in tail and "\nops = Ops\n" in tail
    assert "def sort_chunks_v2(chunks):" in tail  # moved, its imports inside it
    assert "from mindspeed.sorting import sort_chunks_by_index as fused_sort" in tail
    assert "class NpuGroupedLinear:" in tail  # moved: defining it needs nothing new
    assert "from mindspeed.grouped_fast import GroupedLinear" in tail  # its name is the target's: imported
    assert "if adaptation_args().gmm:\n    fused_sort = sort_chunks_v2" in tail.replace("_patchmerge.", "")
    kernels = (fused / "MindSpeed/mindspeed/kernels.py").read_text()
    assert "from megatron.core.block import Ops" in kernels and "class Ops" not in kernels
    enums = (fused / "Megatron-LM/megatron/core/enums.py").read_text()
    assert "from mindspeed.layout import LayerKind" in enums and "class LayerKind" not in enums


OTHER = """
try:
    from scalelib_missing import fused_scale
except ImportError:
    fused_scale = None

try:
    from actlib_missing import fused_act
except ImportError:
    fused_act = None
"""

LEGACY_SCALE = """
try:
    from scalelib_missing import fused_scale
except ImportError:
    fused_scale = None


def scale(x):
    return fused_scale(x) if fused_scale is not None else x
"""

CAPTURE = """
from megatron.core.other import fused_act

ACT = fused_act  # read as it loads: at runtime, the original


def act(x):
    return fused_act(x) if fused_act is not None else x
"""

SCALES = """
from megatron.calls import LOG
from megatron.core import capture, legacy_scale  # loaded with the patches: the runtime rebinds what they hold


def scale(x):
    LOG.append("mindspeed.scale")
    return x * 3


def act(x):
    LOG.append("mindspeed.act")
    return x + 100
"""


def test_a_value_another_module_may_hold_by_itself_or_reads_as_it_loads_stays_deferred(tmp_path):
    scenario = Scenario(
        "module values other modules hold",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/other.py": OTHER,
            "Megatron-LM/megatron/core/legacy_scale.py": LEGACY_SCALE,
            "Megatron-LM/megatron/core/capture.py": CAPTURE,
            "MindSpeed/mindspeed/scales.py": SCALES,
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from megatron.core import capture, legacy_scale\n"
                "    return [legacy_scale.scale(2), capture.act(1), capture.ACT]\n"
            ),
        },
        {
            "megatron.core.other.fused_scale": [{"patch_import": "mindspeed.scales.scale"}],
            "megatron.core.other.fused_act": [{"patch_import": "mindspeed.scales.act"}],
        },
    )
    (outcome, *_) = compare(tmp_path, scenario)
    assert outcome["result"] == "[6, 101, None]"  # legacy_scale's None rebound too; ACT kept the original
    strategies = _strategies(tmp_path / "fused")
    scale, act = strategies["megatron.core.other.fused_scale#0"], strategies["megatron.core.other.fused_act#0"]
    assert scale[0] == "deferred" and "megatron.core.legacy_scale binds fused_scale too" in scale[1]
    assert act[0] == "deferred"
    assert "capture reads megatron.core.other.fused_act as it loads (`ACT = fused_act`, line 3)" in act[1]


GROUPS = """
from megatron.calls import LOG


def get_group_for_overlap(check=True):
    LOG.append("mindspeed.get_group_for_overlap")
    return "overlap-group"
"""


def test_a_new_function_under_conditions_exists_only_where_one_holds(tmp_path):
    """MindSpeed 26.1.0 creates `parallel_state.get_context_parallel_group_for_send_recv_overlap` under two
    conditions, with a def of that very name: where neither holds the runtime creates nothing, so the moved def
    must not leave the name bound (code tests for it with `hasattr`)."""
    scenario = Scenario(
        "a new name under conditions, its def of the same name",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/state.py": "def get_group():\n    return 'group'\n",
            "MindSpeed/mindspeed/groups.py": GROUPS,
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from megatron.core import state\n"
                "    found = getattr(state, 'get_group_for_overlap', None)\n"
                "    return [found is not None, found() if found else None]\n"
            ),
        },
        {
            "megatron.core.state.get_group_for_overlap": [
                {"patch_import": "mindspeed.groups.get_group_for_overlap", "condition": ["args.cp == 2"]},
                {"patch_import": "mindspeed.groups.get_group_for_overlap", "condition": ["args.reset"]},
            ],
        },
    )
    outcomes = compare(tmp_path, scenario)
    assert {o["result"] for o in outcomes} == {"[False, None]", "[True, 'overlap-group']"}
    assert {strategy for strategy, _ in _strategies(tmp_path / "fused").values()} == {"in-source"}
