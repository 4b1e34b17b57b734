"""A condition that reads, without a default, a name the adaptor's parser does not define (MindSpeed-LLM
26.1.0's `not int(args.pipeline_model_parallel_size) > 1`): the runtime's args have it only from the command
line's unknown options, a string, and where it is missing the adaptation raises AttributeError. In source the
helper's parse takes the unknown options in the same way, so the condition reads the same value, and raises the
same error as the target module is imported. Compared with runtime patching in every way a run may use the
tree, for every condition value."""

from __future__ import annotations

import json

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


def test_a_direct_read_of_an_unknown_option_is_decided_in_source_and_raises_where_absent(tmp_path):
    outcomes = compare(tmp_path, Scenario(
        "unknown option read directly",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/router.py": OPS,
            "MindSpeed-LLM/mindspeed_llm/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
        extra_domains={"use_global_aux_loss": [False, True]},
        unknown_args=True,
        unknown_domains={"pipeline_model_parallel_size": [None, "1", "2"]},
    ))
    strategy, _ = strategies(tmp_path / "fused")["megatron.core.router.Router.forward#0"]
    assert strategy == "in-source"
    errors = {json.dumps(o.get("error")) for o in outcomes}
    assert any("AttributeError" in e and "pipeline_model_parallel_size" in e for e in errors)  # absent: raises
    assert any("mindspeed_llm.forward_global_aux" in o["calls"] for o in outcomes)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    notes = {p["id"]: " ".join(p["notes"]) for p in report["patches"]}
    assert "runtime's adaptation raises AttributeError" in notes["megatron.core.router.Router.forward#0"]
