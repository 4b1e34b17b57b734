"""Conditions over options the adaptor adds only when a condition over its parse so far holds (MindSpeed-LLM
26.1.0 adds `--enable-seq1f1b` and its other MindSpore options only for `--ai-framework mindspore`). With
`runtime.adaptor_args_guarded`, the helper's parse adds them the same way, so where the condition fails `args`
lacks them (or takes them in as unknown options) as the runtime's does; the conditions are decided in source.
Compared with runtime patching in every way a run may use the tree, for every condition value."""

from __future__ import annotations

import pytest

from tests.differential.harness import ARGUMENTS, Scenario, build, compare, strategies

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


def scale_seq(x):
    LOG.append("mindspeed_llm.scale_seq")
    return x * 7


def forward_wrapper(fn):
    def wrapper(self, x):
        LOG.append("forward_wrapper>")
        return fn(self, x) * 10
    return wrapper


def forward_split_wrapper(fn):
    def wrapper(self, x):
        LOG.append("forward_split_wrapper>")
        return -fn(self, x)
    return wrapper
"""

# the adaptor's parser, as MindSpeed-LLM 26.1.0's MindSpore feature registers its options
PARSER = """
def register_framework_options(group):
    group.add_argument('--enable-seq', action='store_true', default=False)
    group.add_argument('--seq-splits', type=int, default=4)


def process_args(parser):
    parser.conflict_handler = 'resolve'
    group = parser.add_argument_group(title='framework')
    group.add_argument('--ai-framework', type=str, default='pytorch')
    group.add_argument('--fast', action='store_true')
    args = parser.parse_known_args()
    if args[0].ai_framework == "mindspore":
        register_framework_options(group)
    return parser
"""

GUARDED = f"{ARGUMENTS}::register_framework_options if args.ai_framework == 'mindspore'"

SCENARIO = """
def run():
    from megatron.core import ops
    return [ops.scale(2), ops.Layer().forward(3)]
"""

TARGETS = {
    "megatron.core.ops.scale": [
        {"patch_import": "mindspeed_llm.patches.scale_seq",
         "condition": ["hasattr(args, 'ai_framework')", "args.ai_framework == 'mindspore'", "args.enable_seq",
                       "not args.seq_splits <= 1"]},
    ],
    "megatron.core.ops.Layer.forward": [
        {"patch_import": "mindspeed_llm.patches.forward_wrapper", "condition": ["args.fast"]},
        # read with a default: absent where the options are not added, or the string '3' taken in as unknown
        {"patch_import": "mindspeed_llm.patches.forward_split_wrapper",
         "condition": ["getattr(args, 'seq_splits', None) == 3"]},
    ],
}


def _scenario(unknown_args: bool, targets: dict | None = None) -> Scenario:
    return Scenario(
        "options added under a condition",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed-LLM/mindspeed_llm/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        targets or TARGETS,
        extra_domains={"ai_framework": [None, "mindspore", "pytorch"], "enable_seq": [False, True],
                       "seq_splits": [None, 1, 3], "fast": [False, True]},
        unknown_args=unknown_args,
        arguments=PARSER,
        guarded=(GUARDED,),
    )



@pytest.mark.parametrize("unknown_args", [False, True], ids=["unknown-left", "unknown-taken-in"])
def test_options_added_under_a_condition_are_decided_in_source_like_the_runtime(tmp_path, unknown_args):
    outcomes = compare(tmp_path, _scenario(unknown_args))
    assert {strategy for strategy, _ in strategies(tmp_path / "fused").values()} == {"in-source"}
    assert len({o["result"] for o in outcomes}) >= 4
    helper = (tmp_path / "fused/Megatron-LM/megatron/_patchmerge.py").read_text()
    assert "        if args.ai_framework == 'mindspore':\n            parser.add_argument('--enable-seq'" in helper
    assert helper.index("'--ai-framework'") < helper.index("if args.ai_framework") < helper.index("'--enable-seq'")


def test_a_guarded_option_read_without_its_condition_falls_back_with_the_reason(tmp_path):
    targets = {"megatron.core.ops.scale": [{"patch_import": "mindspeed_llm.patches.scale_seq",
                                            "condition": ["args.enable_seq"]}],
               "megatron.core.ops.Layer.forward": TARGETS["megatron.core.ops.Layer.forward"]}
    _, fused = build(tmp_path, _scenario(False, targets))
    strategy, reason = strategies(fused)["megatron.core.ops.scale#0"]
    assert strategy == "deferred"
    assert reason == (
        "megatron.core.ops.scale#0: args.enable_seq is an option only if args.ai_framework == 'mindspore' "
        f"({ARGUMENTS}::register_framework_options), and 'args.enable_seq' reads it without an earlier condition "
        "saying so"
    )


def test_the_guard_reads_its_option_with_its_default_where_no_condition_reads_that_option(tmp_path):
    """No patch condition reads `ai_framework`, and unknown options are taken in, so the helper writes most
    options by what they take alone: the guard's own option still gets its default ('pytorch'), or a run
    without `--ai-framework` would add the guarded options where the runtime does not."""
    targets = {"megatron.core.ops.scale": [{"patch_import": "mindspeed_llm.patches.scale_seq",
                                            "condition": ["hasattr(args, 'enable_seq')"]}]}
    scenario = _scenario(True, targets)
    scenario.guarded = (f"{ARGUMENTS}::register_framework_options if args.ai_framework != 'pytorch'",)
    scenario.extra_domains = {"ai_framework": [None, "mindspore", "pytorch"], "enable_seq": [False, True]}
    scenario.arguments = PARSER.replace('args[0].ai_framework == "mindspore"', 'args[0].ai_framework != "pytorch"')
    assert scenario.arguments != PARSER
    compare(tmp_path, scenario)
    assert strategies(tmp_path / "fused")["megatron.core.ops.scale#0"][0] == "in-source"
