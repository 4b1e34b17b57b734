"""Wrappers on members a class only gets implicitly (SPEC 3.2): an `@dataclass`-generated `__init__` and a
method inherited from a base class. No def in the class body holds them, so the wrappers apply right after the
class statement, to what a lookup on the class returns, as the runtime applies them. Compared with runtime
patching in every way a run may use the tree, for every condition value."""

from __future__ import annotations

import json

from patchmerge.cli import main
from tests.differential.harness import Scenario, build, compare

CONFIG = """
from dataclasses import dataclass

from megatron.calls import LOG


class Module:
    def state_dict(self, prefix=""):
        LOG.append("megatron.Module.state_dict")
        return {prefix + "w": 1}


@dataclass
class OptimizerConfig:
    lr: float = 0.1
    clip: float = 1.0


class Transformer(Module):
    def forward(self, x):
        return x


class Block(Transformer):
    pass


def make(**kwargs):
    return OptimizerConfig(**kwargs)
"""

WRAPPERS = """
from functools import wraps

from megatron.calls import LOG


def config_init_wrapper(fn):
    @wraps(fn)
    def wrapper(self, *args, **kwargs):
        LOG.append("config_init_wrapper>")
        fn(self, *args, **kwargs)
        self.lr = self.lr * 2
    return wrapper


def config_clip_wrapper(fn):
    @wraps(fn)
    def wrapper(self, *args, **kwargs):
        LOG.append("config_clip_wrapper>")
        fn(self, *args, **kwargs)
        self.clip = -self.clip
    return wrapper


def state_dict_wrapper(fn):
    @wraps(fn)
    def wrapper(self, prefix=""):
        LOG.append("state_dict_wrapper>")
        return {**fn(self, prefix), "extra": 2}
    return wrapper
"""

SCENARIO = """
def run():
    from megatron.core import config
    made = config.make(lr=0.5)
    block = config.Block().state_dict("b.")
    return [
        made.lr, made.clip, config.OptimizerConfig().lr, config.Transformer().state_dict("t."), block,
        "state_dict" in vars(config.Transformer), config.OptimizerConfig.__init__.__qualname__,
    ]
"""


def _scenario() -> Scenario:
    return Scenario(
        "implicit members wrapped",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/config.py": CONFIG,
            "MindSpeed/mindspeed/wrappers.py": WRAPPERS,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        {
            "megatron.core.config.OptimizerConfig.__init__": [
                {"patch_import": "mindspeed.wrappers.config_init_wrapper"},
                {"patch_import": "mindspeed.wrappers.config_clip_wrapper", "condition": ["args.clip_neg"]},
            ],
            "megatron.core.config.Transformer.state_dict": [
                {"patch_import": "mindspeed.wrappers.state_dict_wrapper", "condition": ["not args.plain"]},
            ],
        },
    )


def test_wrappers_on_implicit_members_are_fused_in_source_and_run_like_the_runtime(tmp_path):
    outcomes = compare(tmp_path, _scenario())
    assert len({o["result"] for o in outcomes}) == 4  # each condition changes what runs
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}
    assert main(["merge", str(tmp_path / "fused"), "--profile", str(tmp_path / "profile.toml")]) == 0
    again = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["outcome"] for p in again["patches"]} == {"already-fused"}


def test_they_apply_right_after_the_class_statement(tmp_path):
    pristine, fused = build(tmp_path, _scenario())
    text = (fused / "Megatron-LM/megatron/core/config.py").read_text()
    assert "fused_member(" not in text and "_patchmerge_settle" not in text  # no stand-in
    after = text[text.index("class OptimizerConfig:"):text.index("class Transformer(Module):")]
    assert "\nOptimizerConfig.__init__ = config_init_wrapper(OptimizerConfig.__init__)\n" in after
    assert "if _patchmerge.adaptation_args().clip_neg:\n    OptimizerConfig.__init__ = config_clip_wrapper(" in after
    assert "# patchmerge: megatron.core.config.OptimizerConfig.__init__ wrapped by " in after
    assert text.index("def config_init_wrapper(fn):") < text.index("class OptimizerConfig:")  # moved above
    tail = text[text.index("class Transformer(Module):"):]
    assert "Transformer.state_dict = state_dict_wrapper(Transformer.state_dict)" in tail.split("class Block")[0]


def test_an_inherited_member_another_class_patches_too_stays_deferred(tmp_path):
    """`Transformer.state_dict` comes from `Module`, whose own `state_dict` is replaced too: what the runtime's
    lookup returns depends on which Patch applies first, so the wrapper stays with the deferred strategy."""
    scenario = _scenario()
    scenario.files["MindSpeed/mindspeed/module.py"] = (
        "def state_dict(self, prefix=''):\n    return {prefix + 'ms': 1}\n"
    )
    # registered before the wrapper, so the runtime's lookup finds the replacement (registered after it, the
    # runtime would wrap Megatron's own: the deferred strategy, which looks up on first use, does not show that)
    scenario.patches = {
        "megatron.core.config.Module.state_dict": [{"patch_import": "mindspeed.module.state_dict"}],
        **scenario.patches,
    }
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    patches = {p["id"]: p for p in report["patches"]}
    wrapped = patches["megatron.core.config.Transformer.state_dict#0"]
    assert wrapped["strategy"] == "deferred"
    assert wrapped["strategy_reason"] == (
        "the inherited state_dict is patched on Module.state_dict too: the order of the patches decides"
    )
    assert patches["megatron.core.config.OptimizerConfig.__init__#0"]["strategy"] == "in-source"
