"""An option whose `type=` is a function the parser file defines (MindSpeed's `--virtual-optimizer`: 'all' gives
65.0, a number its float, anything else an error). The helper carries the function, so its parse gives the
values (and the errors) the adaptor's does, and conditions over the option are decided in source. Compared with
runtime patching in every way a run may use the tree, for every condition value."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, build, compare

OPS = """
from megatron.calls import LOG


def step(x):
    LOG.append("megatron.step")
    return x + 1
"""

PATCHES = """
from megatron.calls import LOG


def swap_step(x):
    LOG.append("mindspeed.swap_step")
    return x * 10


def full_swap_wrapper(fn):
    def wrapper(x):
        LOG.append("full_swap_wrapper>")
        return -fn(x)
    return wrapper
"""

PARSER = """
class VirtualOptimizerFeature:
    def register_args(self, parser):
        def parse_list_for_virtual_optimizer(value):
            if value == 'all':
                return 65.0
            return float(value)
        parser.add_argument('--virtual-optimizer', type=parse_list_for_virtual_optimizer, nargs='+')


def process_args(parser):
    parser.conflict_handler = 'resolve'
    VirtualOptimizerFeature().register_args(parser)
    parser.add_argument('--fast', action='store_true')
    return parser
"""

SCENARIO = """
def run():
    from megatron.core import ops
    return [ops.step(2)]
"""

TARGETS = {
    "megatron.core.ops.step": [
        {"patch_import": "mindspeed_llm.patches.swap_step", "condition": ["getattr(args, 'virtual_optimizer', None)"]},
        {"patch_import": "mindspeed_llm.patches.full_swap_wrapper",
         "condition": ["getattr(args, 'virtual_optimizer', None) == [65.0]"]},
    ],
}


def _scenario() -> Scenario:
    return Scenario(
        "an option with a type function",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed-LLM/mindspeed_llm/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
        extra_domains={"virtual_optimizer": [None, "all", "2"], "fast": [False, True]},
        arguments=PARSER,
    )


def test_an_option_whose_type_is_a_function_of_its_file_is_decided_in_source(tmp_path):
    outcomes = compare(tmp_path, _scenario())
    assert len({o["result"] for o in outcomes}) >= 3
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}
    helper = (tmp_path / "fused/Megatron-LM/megatron/_patchmerge.py").read_text()
    assert "parse_list_for_virtual_optimizer, the type of an adaptor option" in helper
    assert "type=type_" in helper


def test_a_type_function_that_reads_more_than_builtins_leaves_the_option_unreadable(tmp_path):
    scenario = _scenario()
    scenario.arguments = PARSER.replace("return float(value)", "return float(value) * SCALE") + "\nSCALE = 1\n"
    _, fused = build(tmp_path, scenario)
    report = json.loads((fused / ".patchmerge/report/report.json").read_text())
    reasons = {p["strategy_reason"] for p in report["patches"]}
    assert any("args.virtual_optimizer: its add_argument at" in (r or "") and "cannot be read statically" in (r or "")
               for r in reasons)
