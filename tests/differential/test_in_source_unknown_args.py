"""Conditions over options the adaptor's parser does not define (MindSpeed-LLM 26.1.0 takes every unknown
`--name` of the command line into its args: `getattr(args, 'optimizer', None) in ('muon', 'dist_muon')`). With
`runtime.adaptor_unknown_args`, the helper parses the command line with every option of the adaptor's parser, so
the same tokens are left unknown, and takes those in the same way; the conditions are then decided in source.
Compared with runtime patching in every way a run may use the tree, for every condition value."""

from __future__ import annotations

from tests.differential.harness import Scenario, build, compare, strategies

OPS = """
from megatron.calls import LOG


def scale(x):
    LOG.append("megatron.scale")
    return x * 2


class Layer:
    def forward(self, x):
        LOG.append("megatron.forward")
        return x + 1
"""

PATCHES = """
from megatron.calls import LOG


def scale_muon(x):
    LOG.append("mindspeed_llm.scale_muon")
    return x * 7


def forward_wrapper(fn):
    def wrapper(self, x):
        LOG.append("forward_wrapper>")
        return fn(self, x) * 10
    return wrapper


def gemm_wrapper(fn):
    def wrapper(self, x):
        LOG.append("gemm_wrapper>")
        return -fn(self, x)
    return wrapper


def scale_wrapper(fn):
    def wrapper(x):
        LOG.append("scale_wrapper>")
        return fn(x) - 1
    return wrapper
"""

SCENARIO = """
def run():
    from megatron.core import ops
    return [ops.scale(2), ops.Layer().forward(3)]
"""

TARGETS = {
    "megatron.core.ops.scale": [
        {"patch_import": "mindspeed_llm.patches.scale_muon",
         "condition": ["getattr(args, 'optimizer', None) in ('muon', 'dist_muon')"]},
        {"patch_import": "mindspeed_llm.patches.scale_wrapper",
         "condition": ["getattr(args, 'use_fsdp2', None) or (args.fast and hasattr(args, 'optimizer'))"]},
    ],
    "megatron.core.ops.Layer.forward": [
        {"patch_import": "mindspeed_llm.patches.forward_wrapper",
         "condition": ["int(getattr(args, 'context_parallel_size', 1)) > 1"]},
        # read directly once an earlier condition of the patch showed args has it, as the runtime tests in order
        {"patch_import": "mindspeed_llm.patches.gemm_wrapper",
         "condition": ["getattr(args, 'moe_grouped_gemm', None)", "args.moe_grouped_gemm == True"]},
    ],
}

# options of the command line the adaptor's parser does not define (absent, one value, or a flag)
UNKNOWN = {"optimizer": [None, "muon", "adam"], "context_parallel_size": [None, "1", "2"], "use_fsdp2": [False, True],
           "moe_grouped_gemm": [False, True]}


def _scenario(unknown_args: bool = True) -> Scenario:
    return Scenario(
        "options the adaptor's parser does not know",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed-LLM/mindspeed_llm/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
        unknown_args=unknown_args,
        unknown_domains=UNKNOWN,
        extra_domains={"fast": [False, True]},
    )



def test_options_the_parser_does_not_know_are_decided_in_source_like_the_runtime(tmp_path):
    outcomes = compare(tmp_path, _scenario())
    assert {strategy for strategy, _ in strategies(tmp_path / "fused").values()} == {"in-source"}
    assert len({o["result"] for o in outcomes}) >= 4
    helper = (tmp_path / "fused/Megatron-LM/megatron/_patchmerge.py").read_text()
    assert "_add_unknown(known, unknown)" in helper


def test_without_the_profile_key_they_fall_back_with_the_reason(tmp_path):
    pristine, fused = build(tmp_path, _scenario(unknown_args=False))
    by_id = strategies(fused)
    assert by_id["megatron.core.ops.Layer.forward#0"] == (
        "deferred",
        "megatron.core.ops.Layer.forward#0: args.context_parallel_size is not an option of the adaptor's parser "
        "(MindSpeed-LLM/mindspeed_llm/arguments.py)",
    )
