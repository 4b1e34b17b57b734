"""Options only the features in the adaptor's list register (MindSpeed-LLM 26.1.0 walks its feature list; both
MindSpeed and MindSpeed-LLM define a QAT feature adding `--qat-scheme`, differently, and only one is listed).
With `runtime.adaptor_args_entry` the merge walks the adaptor's parse and reads only the add_argument calls it
reaches: the listed feature's definition decides, and the conditions reading it are fused in source. Compared
with runtime patching in every way a run may use the tree, for every condition value."""

from __future__ import annotations

import pytest

from tests.differential.harness import Scenario, build, compare, strategies

OPS = """
from megatron.calls import LOG


def scale(x):
    LOG.append("megatron.scale")
    return x * 2


def shift(x):
    LOG.append("megatron.shift")
    return x + 1
"""

PATCHES = """
from megatron.calls import LOG


def scale_qat(x):
    LOG.append("mindspeed_llm.scale_qat")
    return x * 5


def shift_legacy(x):
    LOG.append("mindspeed_llm.shift_legacy")
    return x - 1
"""

# the adaptor's parser: each feature in its list registers its options; LegacyQatFeature is defined, not listed
PARSER = """
class Feature:
    def register_args(self, parser):
        pass


class QatFeature(Feature):
    def register_args(self, parser):
        group = parser.add_argument_group(title='qat')
        group.add_argument('--qat-scheme', type=str, default='none', choices=['none', 'w4a16'])


class LegacyQatFeature(Feature):
    def register_args(self, parser):
        parser.add_argument('--qat-scheme', type=str, default='w4a16')
        parser.add_argument('--legacy-shift', action='store_true')


class FastFeature(Feature):
    def register_args(self, parser):
        super().register_args(parser)
        _add_fast(parser)


def _add_fast(parser):
    parser.add_argument('--fast', action='store_true')


FEATURES = [FastFeature(), QatFeature()]


def process_args(parser):
    for feature in FEATURES:
        feature.register_args(parser)
    return parser
"""

SCENARIO = """
def run():
    from megatron.core import ops
    return [ops.scale(2), ops.shift(3)]
"""

TARGETS = {
    "megatron.core.ops.scale": [
        {"patch_import": "mindspeed_llm.patches.scale_qat",
         "condition": ["getattr(args, 'qat_scheme', None) == 'w4a16'", "args.fast"]},
    ],
    # an option only the unlisted feature adds: its reads are left to the deferred strategy
    "megatron.core.ops.shift": [
        {"patch_import": "mindspeed_llm.patches.shift_legacy", "condition": ["getattr(args, 'legacy_shift', False)"]},
    ],
}


def _scenario(parse_entry: str = "process_args") -> Scenario:
    return Scenario(
        "options of the listed features",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed-LLM/mindspeed_llm/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
        extra_domains={"qat_scheme": ["none", "w4a16"]},
        unknown_args=True,
        unknown_domains={"legacy_shift": [False, True]},
        arguments=PARSER,
        parse_entry=parse_entry,
    )


def test_only_the_listed_features_options_decide_in_source(tmp_path):
    outcomes = compare(tmp_path, _scenario())
    chosen = strategies(tmp_path / "fused")
    assert chosen["megatron.core.ops.scale#0"] == ("in-source", "")
    assert chosen["megatron.core.ops.shift#0"][0] == "deferred"
    assert "where the adaptor's parse does not go" in chosen["megatron.core.ops.shift#0"][1]
    assert any("mindspeed_llm.scale_qat" in o["calls"] for o in outcomes)
    helper = (tmp_path / "fused/Megatron-LM/megatron/_patchmerge.py").read_text()
    assert "'--qat-scheme', dest='qat_scheme'" in helper and "choices=" in helper  # the listed definition
    assert "--legacy-shift" not in helper  # the unlisted feature's options are left unknown, as the adaptor does


def test_without_the_entry_both_definitions_count_and_the_binding_falls_back(tmp_path):
    _, fused = build(tmp_path, _scenario(parse_entry=""))
    strategy, reason = strategies(fused)["megatron.core.ops.scale#0"]
    assert strategy == "deferred" and "defined differently in several places" in reason


# a parser whose walk cannot see every def that runs: the listed feature's --qat-scheme (default 'none') is
# reached only in ways the walk cannot follow, while _base adds it with default 'w4a16' in plain sight
MISSED_PARSER = """
def _base(parser):
    parser.add_argument('--qat-scheme', type=str, default='w4a16')


class QatFeature:
    def setup(self, parser):
        self.register_args(parser)

    def register_args(self, parser):
        group = parser.add_argument_group(title='qat', conflict_handler='resolve')
        group.add_argument('--qat-scheme', type=str, default='none', choices=['none', 'w4a16'])
        group.add_argument('--fast', action='store_true')


FEATURES = [QatFeature()]


class Root:
    subs = [QatFeature()]

    def register_args(self, parser):
        pass


def _register(feature, parser):
    feature.register_args(parser)
    for sub in getattr(feature, 'subs', []):
        _register(sub, parser)


ENABLED = False


def _enable():
    global ENABLED
    ENABLED = True


def process_args(parser):
    _base(parser)
DISPATCH
    return parser
"""

MISSED = {
    "comprehension": "    [feature.register_args(parser) for feature in FEATURES]",
    "lambda": "    list(map(lambda feature: feature.register_args(parser), FEATURES))",
    "delegated": "    for feature in sorted(FEATURES, key=str):\n        feature.setup(parser)",
    "recursion": "    _register(Root(), parser)",
    "branch not taken": "    _enable()\n    if ENABLED:\n        QatFeature().register_args(parser)",
}


@pytest.mark.parametrize("how", sorted(MISSED))
def test_a_walk_that_may_have_missed_a_def_narrows_nothing(tmp_path, how):
    scenario = _scenario()
    scenario.arguments = MISSED_PARSER.replace("DISPATCH", MISSED[how])
    scenario.patches = {"megatron.core.ops.scale": TARGETS["megatron.core.ops.scale"]}
    scenario.extra_domains = {"qat_scheme": [None, "none", "w4a16"]}
    scenario.unknown_domains = {}
    compare(tmp_path, scenario)
    strategy, reason = strategies(tmp_path / "fused")["megatron.core.ops.scale#0"]
    assert strategy == "deferred" and "defined differently in several places" in reason
