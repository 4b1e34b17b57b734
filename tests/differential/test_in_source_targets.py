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
