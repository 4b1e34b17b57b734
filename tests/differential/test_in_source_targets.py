"""Several targets that name one function, each only wrapped (MindSpeed-LLM wraps `unwrap_model` as
`checkpointing.unwrap_model` and as `training.unwrap_model`, both Megatron's `utils.unwrap_model`): the runtime
applies each target's Patch in turn, each rebinding every module that holds what the previous one bound, so the
def ends up wrapped once per target. In source the wrappers apply at the def, in that order; compared with
runtime patching in every way a run may use the tree, for every condition value, in both runtime semantics."""

from __future__ import annotations

import json

import pytest

from tests.differential.harness import Scenario, compare

UTILS = """
from megatron.calls import LOG


def unwrap(x):
    LOG.append("megatron.unwrap")
    return [x]
"""

CHECKPOINTING = """
from megatron.core.utils import unwrap


def load(x):
    return unwrap(x)
"""

TRAINING = """
from megatron.core.utils import unwrap


def train(x):
    return unwrap(x) + unwrap(x + 1)
"""

PATCHES = """
from functools import wraps

from megatron.calls import LOG


def unwrap_wrapper(fn):
    @wraps(fn)
    def wrapper(x):
        LOG.append("unwrap_wrapper>")
        return fn(x * 10)
    return wrapper


def strict_wrapper(fn):
    def wrapper(x):
        LOG.append("strict_wrapper>")
        if x < 0:
            raise ValueError("negative")
        return fn(x) + ["strict"]
    return wrapper
"""

SCENARIO = """
from megatron.calls import attempt


def run():
    from megatron.core import checkpointing, training, utils
    return [checkpointing.load(1), training.train(2), utils.unwrap(3), attempt(utils.unwrap, -1),
            utils.unwrap.__name__, checkpointing.unwrap is training.unwrap is utils.unwrap]
"""

TARGETS = {
    "megatron.core.checkpointing.unwrap": [{"patch_import": "mindspeed_llm.patches.unwrap_wrapper"}],
    "megatron.core.training.unwrap": [
        {"patch_import": "mindspeed_llm.patches.unwrap_wrapper"},
        {"patch_import": "mindspeed_llm.patches.strict_wrapper", "condition": ["args.strict"]},
    ],
}


@pytest.mark.parametrize("semantics", ["2.1.0", "2.2.0"])
def test_each_target_wraps_the_shared_def_in_turn_as_the_runtime_does(tmp_path, semantics):
    scenario = Scenario(
        "one function wrapped as several targets",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/utils.py": UTILS,
            "Megatron-LM/megatron/core/checkpointing.py": CHECKPOINTING,
            "Megatron-LM/megatron/core/training.py": TRAINING,
            "MindSpeed-LLM/mindspeed_llm/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
        semantics=semantics,
    )
    outcomes = compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}
    assert any("'strict'" in o["result"] for o in outcomes) and any("'strict'" not in o["result"] for o in outcomes)
    utils = (tmp_path / "fused/Megatron-LM/megatron/core/utils.py").read_text()
    # once per target, the first registered innermost
    assert utils.count("unwrap = unwrap_wrapper(unwrap)") == 2


P2P = """
from megatron.calls import LOG


def batched_ops(x):
    LOG.append("megatron.batched_ops")
    return [x]


def ops(x):
    LOG.append("megatron.ops")
    return [x, x]
"""

EOD = """
from megatron.calls import LOG


def ops_eod(x):
    LOG.append("mindspeed.ops_eod")
    return [-x]
"""


def test_one_branch_of_two_functions_is_defined_above_both_or_the_earlier_falls_back(tmp_path):
    """MindSpeed's `_p2p_ops_eod` is the branch of `_p2p_ops` and of `_batched_p2p_ops`, defined above it: the
    def moves beside the binding planned first; the other binds it as its module loads, so it must come below."""
    targets = {
        "megatron.core.p2p.ops": [{"patch_import": "mindspeed.eod.ops_eod", "condition": ["args.eod"]}],
        "megatron.core.p2p.batched_ops": [{"patch_import": "mindspeed.eod.ops_eod", "condition": ["args.eod"]}],
    }
    scenario = Scenario(
        "one branch of two functions",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/p2p.py": P2P,
            "MindSpeed/mindspeed/eod.py": EOD,
            "MindSpeed-LLM/scenario.py": "def run():\n    from megatron.core import p2p\n"
                                         "    return [p2p.ops(1), p2p.batched_ops(2), p2p.ops is p2p.batched_ops]\n",
        },
        targets,
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    strategies = {p["id"]: (p["strategy"], p["strategy_reason"] or "") for p in report["patches"]}
    assert strategies["megatron.core.p2p.ops#0"] == ("in-source", "")
    strategy, reason = strategies["megatron.core.p2p.batched_ops#0"]
    assert strategy == "deferred" and "which binds it when the module loads" in reason


TOKENIZER = """
from megatron.calls import LOG


def build(x):
    LOG.append("megatron.build")
    return [x]
"""

GLOBAL_VARS = """
from megatron.core.tokenizer import build


def make(x):
    return build(x) + build(x + 1)
"""

LLM_TOKENIZER = """
from megatron.calls import LOG


def build(x):
    LOG.append("mindspeed_llm.build")
    return [x * 10]
"""

SAME_REPLACEMENT = {  # one collection, as MindSpeed-LLM registers them: a runtime Patch is still one target's
    "megatron.core.global_vars.build": [{"patch_import": "mindspeed_llm.tok.build", "collection": "M"}],
    "megatron.core.tokenizer.build": [
        {"patch_import": "mindspeed_llm.tok.build", "condition": ["args.tok"], "collection": "M"}
    ],
}


@pytest.mark.parametrize("semantics", ["2.1.0", "2.2.0"])
@pytest.mark.parametrize("unconditional_first", [True, False])
def test_several_targets_replaced_by_one_def_one_of_them_always(tmp_path, semantics, unconditional_first):
    """MindSpeed-LLM 26.1.0 replaces `global_vars.build_tokenizer` (Megatron's import of it) always and
    `tokenizer.build_tokenizer` (its def) under a condition, both by its own `build_tokenizer`: whichever Patch
    the runtime applies first rebinds every module holding the def under that name, so the def is replaced
    whatever the condition. In source: one replacement at the def."""
    order = list(SAME_REPLACEMENT) if unconditional_first else list(reversed(SAME_REPLACEMENT))
    scenario = Scenario(
        "one def replaced by the same patch through two targets, one of them unconditionally",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/tokenizer.py": TOKENIZER,
            "Megatron-LM/megatron/core/global_vars.py": GLOBAL_VARS,
            "MindSpeed-LLM/mindspeed_llm/tok.py": LLM_TOKENIZER,
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from megatron.core import global_vars, tokenizer\n"
                "    return [global_vars.make(1), tokenizer.build(3), global_vars.build is tokenizer.build]\n"
            ),
        },
        {target: SAME_REPLACEMENT[target] for target in order},
        semantics=semantics,
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}
    tokenizer = (tmp_path / "fused/Megatron-LM/megatron/core/tokenizer.py").read_text()
    assert "RuntimeError" not in tokenizer and tokenizer.count("def build(") == 1
