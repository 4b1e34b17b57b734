"""Moved defs whose names meet in one Megatron module: two patches of one member named alike (MindSpeed's and
MindSpeed-LLM's `calculate_predicted_logits`), and two patches of a function from modules whose names end alike.
Each keeps its own `__name__` and gets a private binding of its own; compared with runtime patching in every way
a run may use the tree, for every condition value."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, compare

XENT = """
from megatron.calls import LOG


class CrossEntropy:
    @staticmethod
    def predicted(x):
        LOG.append("megatron.predicted")
        return x + 1


def masks(x):
    LOG.append("megatron.masks")
    return [x]


def loss(x):
    return CrossEntropy.predicted(x) + len(masks(x))
"""


def _patch(who: str) -> str:
    return f"""
from megatron.calls import LOG


def predicted(x):
    LOG.append("{who}.predicted:" + predicted.__name__)
    return x * 10


def masks(x):
    LOG.append("{who}.masks:" + masks.__name__)
    return [x, x]
"""


SCENARIO = """
def run():
    from megatron.core import xent
    from mindspeed.core import xent as ms_xent
    from mindspeed_llm.core import xent as llm_xent
    return [xent.loss(3), xent.CrossEntropy.predicted(2), xent.masks(1), ms_xent.predicted(4), llm_xent.masks(5)]
"""


def test_moved_defs_of_one_name_each_keep_their_name_and_get_a_binding_of_their_own(tmp_path):
    scenario = Scenario(
        "defs named alike",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/xent.py": XENT,
            "MindSpeed/mindspeed/core/__init__.py": "",
            "MindSpeed/mindspeed/core/xent.py": _patch("mindspeed"),
            "MindSpeed-LLM/mindspeed_llm/core/__init__.py": "",
            "MindSpeed-LLM/mindspeed_llm/core/xent.py": _patch("mindspeed_llm"),
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        {
            "megatron.core.xent.CrossEntropy.predicted": [
                {"patch_import": "mindspeed_llm.core.xent.predicted", "condition": ["args.a"]},
                {"patch_import": "mindspeed.core.xent.predicted", "condition": ["args.b"]},
            ],
            "megatron.core.xent.masks": [
                {"patch_import": "mindspeed.core.xent.masks", "condition": ["args.a"]},
                {"patch_import": "mindspeed_llm.core.xent.masks", "condition": ["args.b"]},
            ],
        },
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {(p["id"], p["strategy"], p["strategy_reason"]) for p in report["patches"]} == {
        (target + f"#{index}", "in-source", None)
        for target in ("megatron.core.xent.CrossEntropy.predicted", "megatron.core.xent.masks")
        for index in (0, 1)
    }
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/xent.py").read_text()
    assert fused.count("def predicted(") == 3 and fused.count("def masks(") == 3
    compile(fused, "xent.py", "exec")


ATTENTION = """
from megatron.core.transformer.config import Config
from megatron.calls import LOG

from .config import Config


class Attention:
    def __init__(self, config: Config):
        LOG.append("megatron.init")
        self.heads = config.heads
"""

ATTENTION_PATCH = """
from megatron.calls import LOG
from megatron.core.transformer import Config


def attention_init(self, config: Config, extra: int = 1):
    LOG.append("mindspeed.init")
    self.heads = config.heads * 2 + extra
"""


def test_an_annotation_the_destination_imports_twice_alike_is_read_at_definition_time(tmp_path):
    scenario = Scenario(
        "annotation imported twice",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/transformer/__init__.py": "from .config import Config\n",
            "Megatron-LM/megatron/core/transformer/config.py": "class Config:\n    heads = 4\n",
            "Megatron-LM/megatron/core/transformer/attention.py": ATTENTION,
            "MindSpeed/mindspeed/attention.py": ATTENTION_PATCH,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core.transformer.attention import Attention
    from megatron.core.transformer.config import Config
    return [Attention(Config()).heads, Attention.__init__.__annotations__["config"].__name__]
""",
        },
        {
            "megatron.core.transformer.attention.Attention.__init__": [
                {"patch_import": "mindspeed.attention.attention_init"}
            ]
        },
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert [p["strategy"] for p in report["patches"]] == ["in-source"]


MAPPINGS = """
from megatron.calls import LOG


def gather(x, grad=True):
    LOG.append("megatron.gather")
    return [x, grad]


def scatter(x):
    LOG.append("megatron.scatter")
    return x // 2


def reduce(x):
    return [gather(x), scatter(x)]
"""

ADAPTOR = """
from megatron.calls import LOG
from megatron.core.mappings import gather as megatron_gather
from megatron.core import mappings


def gather_adaptor(x, grad=True):
    LOG.append("mindspeed.gather_adaptor")
    if x % 2:
        return ["unaligned", x]
    return megatron_gather(x, grad)


def scatter_adaptor(x):
    LOG.append("mindspeed.scatter_adaptor")
    if x > 100:  # through the module: the patch itself, at run time as in source
        return mappings.scatter(x // 100)
    return x * 10
"""


def test_a_branch_that_calls_the_original_keeps_it_under_the_name_it_reads_it_by(tmp_path):
    scenario = Scenario(
        "branch calls the original",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/mappings.py": MAPPINGS,
            "MindSpeed/mindspeed/adaptor.py": ADAPTOR,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import mappings
    from mindspeed import adaptor
    return [adaptor.megatron_gather(5), mappings.reduce(3), mappings.reduce(4), mappings.gather.__name__,
            adaptor.megatron_gather(7), mappings.reduce(300)]
""",
        },
        {
            "megatron.core.mappings.gather": [
                {"patch_import": "mindspeed.adaptor.gather_adaptor", "condition": ["args.unaligned"]}
            ],
            # reads the original through the module, as `mappings.scatter`: that stays the patch itself
            "megatron.core.mappings.scatter": [
                {"patch_import": "mindspeed.adaptor.scatter_adaptor", "condition": ["args.unaligned"]}
            ],
        },
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    strategies = {p["id"]: (p["strategy"], p["strategy_reason"] or "") for p in report["patches"]}
    assert strategies["megatron.core.mappings.gather#0"] == ("in-source", "")
    assert strategies["megatron.core.mappings.scatter#0"][0] == "deferred"
    assert "reads the original it replaces" in strategies["megatron.core.mappings.scatter#0"][1]
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/mappings.py").read_text()
    assert "megatron_gather = gather  # the original, which a branch calls" in fused
    patch = (tmp_path / "fused/MindSpeed/mindspeed/adaptor.py").read_text()
    assert "from megatron.core.mappings import megatron_gather\n" in patch


UTILS = """
from megatron.calls import LOG


def print_rank_0(message):
    LOG.append("print_rank_0 " + message)
    return 0


def print_rank_last(message):
    LOG.append("print_rank_last " + message)
    return -1


def report(message):
    return [print_rank_last(message), print_rank_0(message)]
"""


def test_a_branch_the_targets_own_module_defines_above_it_is_named_where_it_is(tmp_path):
    scenario = Scenario(
        "branch in the target's own module",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/utils.py": UTILS,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import utils
    return [utils.report("x"), utils.print_rank_last.__name__, utils.print_rank_0("y")]
""",
        },
        {
            "megatron.core.utils.print_rank_last": [
                {"patch_import": "megatron.core.utils.print_rank_0", "condition": ["args.last_is_first"]}
            ],
        },
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert [p["strategy"] for p in report["patches"]] == ["in-source"]
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/utils.py").read_text()
    assert fused.count("def print_rank_0(") == 1 and "    print_rank_last = print_rank_0\n" in fused


WRAPPED_OPS = """
from megatron.calls import LOG


def scale(x):
    LOG.append("megatron.scale")
    return x * 2


class Layer:
    n = 3

    def forward(self, x):
        return x * self.n
"""

WRAPPED_PATCHES = """
from functools import wraps

from megatron.calls import LOG


def scale_fast(x):
    LOG.append("mindspeed.scale_fast")
    return x * 3


def forward(self, x):
    LOG.append("mindspeed.forward")
    return x + self.n


def scale_exact(x):
    LOG.append("mindspeed.scale_exact")
    return x * 4


def scale_wrapper(fn):
    @wraps(fn)
    def inner(x):
        LOG.append("scale_wrapper>")
        return fn(x) + 100
    return inner


def forward_wrapper(fn):
    def inner(self, x):
        LOG.append("forward_wrapper>")
        return fn(self, x) * 10
    return inner
"""


def test_a_replacement_that_wrappers_wrap_keeps_the_bare_def_under_the_patchs_own_name(tmp_path):
    """The runtime wraps the replacement and binds the result to the target; the patch module's own name (and
    anything else holding the patch) keeps the bare def. In source the def moves beside the target under its
    own name; the target's name is bound to it, then wrapped."""
    scenario = Scenario(
        "wrapped replacement",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": WRAPPED_OPS,
            "MindSpeed/mindspeed/patches.py": WRAPPED_PATCHES,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import ops
    from mindspeed import patches
    layer = ops.Layer()
    return [ops.scale(2), patches.scale_fast(2), patches.scale_exact(2), patches.scale_fast.__name__,
            ops.scale.__name__,
            layer.forward(1), patches.forward(layer, 1), ops.Layer.forward is patches.forward]
""",
        },
        {
            "megatron.core.ops.scale": [
                {"patch_import": "mindspeed.patches.scale_fast"},
                {"patch_import": "mindspeed.patches.scale_wrapper", "condition": ["args.wrap"]},
                # a later conditional replacement: the unconditional one is what it did not choose
                {"patch_import": "mindspeed.patches.scale_exact", "condition": ["args.exact"]},
            ],
            "megatron.core.ops.Layer.forward": [
                {"patch_import": "mindspeed.patches.forward"},
                {"patch_import": "mindspeed.patches.forward_wrapper", "condition": ["args.wrap"]},
            ],
        },
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/ops.py").read_text()
    assert "def scale_fast(x):" in fused and "    scale = scale_fast\n" in fused
