"""Conditions that call a function of the adaptor's package (`is_enable_qlora(args)`): in source, the function's
body is written out as an expression over the adaptor's parse and its own parse of the command line, so the
module that defines it is not imported where the condition is decided. Compared with runtime patching in every
way a run may use the tree, for every condition value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.differential.harness import Scenario, build, compare

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

# as MindSpeed-LLM's lora utils: the args the caller gives, else Megatron's; then a parser of its own
FEATURES = """
import argparse

from megatron.training import get_args


def is_enable_feature(args=None):
    args = args if args else get_args()
    if hasattr(args, 'feature') and args.feature:
        return True
    parser = argparse.ArgumentParser()
    parser.add_argument('--feature-nf4', action='store_true')
    args, _ = parser.parse_known_args()
    return args.feature_nf4


def is_level(args, level=2):
    \"\"\"Whether the run asks for this level.\"\"\"
    return getattr(args, 'level', None) == level and not args.feature
"""

PATCHES = """
from megatron.calls import LOG


def scale_feature(x):
    LOG.append("mindspeed_llm.scale_feature")
    if x < 0:
        raise ValueError("negative")
    return x * 5


def forward_wrapper(fn):
    def wrapper(self, x):
        LOG.append("forward_wrapper>")
        return fn(self, x) * 10
    return wrapper


def forward_level(self, x):
    LOG.append("mindspeed_llm.forward_level")
    return -x
"""

SCENARIO = """
from megatron.calls import attempt


def run():
    from megatron.core import ops
    return [ops.scale(2), attempt(ops.scale, -1), ops.Layer().forward(3), ops.scale.__name__]
"""

FEATURE = ["mindspeed_llm.features.is_enable_feature"]
TARGETS = {
    "megatron.core.ops.scale": [
        {"patch_import": "mindspeed_llm.patches.scale_feature", "condition": ["is_enable_feature(args)"],
         "condition_import": FEATURE},
    ],
    "megatron.core.ops.Layer.forward": [
        {"patch_import": "mindspeed_llm.patches.forward_level", "condition": ["is_level(args=args, level=3)"],
         "condition_import": ["mindspeed_llm.features.is_level"]},
        {"patch_import": "mindspeed_llm.patches.forward_wrapper",
         "condition": ["not is_enable_feature(args)", "args.level != 3"], "condition_import": FEATURE},
    ],
}


def _scenario() -> Scenario:
    return Scenario(
        "conditions that call a function",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed-LLM/mindspeed_llm/features.py": FEATURES,
            "MindSpeed-LLM/mindspeed_llm/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
        extra_domains={"feature": [False, True], "feature_nf4": [False, True]},
    )


def test_conditions_calling_a_function_are_fused_in_source_and_run_like_the_runtime(tmp_path):
    outcomes = compare(tmp_path, _scenario())
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["id"]: p["strategy"] for p in report["patches"]} == dict.fromkeys(
        ["megatron.core.ops.scale#0", "megatron.core.ops.Layer.forward#0", "megatron.core.ops.Layer.forward#1"],
        "in-source",
    )
    assert len({o["result"] for o in outcomes}) >= 4  # the command line leads to different programs


def test_the_condition_reads_as_the_parse_and_never_imports_the_function(tmp_path):
    pristine, fused = build(tmp_path, _scenario())
    ops = (fused / "Megatron-LM/megatron/core/ops.py").read_text()
    helper = (fused / "Megatron-LM/megatron/_patchmerge.py").read_text()
    [parse] = [line.split("(")[0][4:] for line in helper.splitlines() if line.startswith("def argv_")]
    assert f"if _patchmerge.adaptation_args().feature or _patchmerge.{parse}().feature_nf4:" in ops
    assert "_patchmerge.adaptation_args().level == 3 and (not _patchmerge.adaptation_args().feature)" in ops
    assert "parser.add_argument('--feature-nf4', dest='feature_nf4', action='store_true', default=False)" in helper
    assert "features" not in ops.replace("# patchmerge:", "")  # nothing of the function's module in the code
    probe = textwrap.dedent("""
        import sys
        sys.argv = ["pretrain.py", "--feature-nf4"]
        from megatron.core import ops
        print(ops.scale(1), "mindspeed_llm.features" in sys.modules)
    """)
    roots = [fused / r for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, roots)), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5", "False"]


def test_a_condition_reading_only_the_functions_own_parse_imports_the_helper_without_probes(tmp_path):
    """No option of the adaptor's parse is read, so only the condition needs the helper module."""
    from patchmerge.cli import main

    features = "import argparse\n\n\ndef is_nf4(args):\n    parser = argparse.ArgumentParser()\n" \
               "    parser.add_argument('--feature-nf4', action='store_true')\n" \
               "    ns, _ = parser.parse_known_args()\n    return ns.feature_nf4\n"
    scenario = _scenario()
    scenario.files["MindSpeed-LLM/mindspeed_llm/features.py"] = features
    scenario.patches = {"megatron.core.ops.scale": [
        {"patch_import": "mindspeed_llm.patches.scale_feature", "condition": ["is_nf4(args)"],
         "condition_import": ["mindspeed_llm.features.is_nf4"]},
    ]}
    pristine, fused = build(tmp_path, scenario)
    again = tmp_path / "no-probes"
    subprocess.run(["cp", "-r", str(pristine), str(again)], check=True)
    assert main(["merge", str(again), "--profile", str(tmp_path / "profile.toml"), "--no-probes"]) == 0
    ops = (again / "Megatron-LM/megatron/core/ops.py").read_text()
    assert "import megatron._patchmerge as _patchmerge" in ops and "first_run" not in ops
    probe = ("import sys\nsys.argv = ['pretrain.py', '--feature-nf4']\nfrom megatron.core import ops\n"
             "print(ops.scale(1))\n")
    roots = [again / r for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, roots)), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5"]
