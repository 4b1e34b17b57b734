"""Conditional bindings fused in source: the branches written at the definition, decided when the module is
imported from the adaptor's own parse of the command line (SPEC 3.11), compared with runtime patching in every
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
    def __init__(self, n):
        self.n = n

    def forward(self, x):
        LOG.append("megatron.forward")
        return x * self.n

    @staticmethod
    def size(x):
        LOG.append("megatron.size")
        return len(x)

    @property
    def width(self):
        return self.n

    @staticmethod
    def count(x):
        return x + 1

    @staticmethod
    def total(x):
        return x + 2

    @staticmethod
    def step(x):
        return x + 3

    @staticmethod
    def halve(x):
        return x // 2

    def stepped(self, x):
        return self.step(x)  # through the instance: a branch over it binds the runtime's plain function


def caller(x):
    return scale(x) + Layer(2).forward(x)
"""

USER = """
from megatron.core.ops import scale


def use(x):
    return scale(x)
"""

PATCHES = """
from functools import wraps

from megatron.calls import LOG


def scale_fast(x):
    LOG.append("mindspeed.scale_fast")
    if x < 0:
        raise ValueError("negative")
    return x * 3


def scale_exact(x):
    LOG.append("mindspeed.scale_exact")
    return x * 4


def forward(self, x):
    LOG.append("mindspeed.forward")
    return x * self.n + 100


def size(x):
    LOG.append("mindspeed.size")
    return -len(x)


def describe(self):
    return ("layer", self.n)


def width_fast(self):
    return self.n * 100


def forward_wrapper(fn):
    @wraps(fn)
    def inner(self, x):
        LOG.append("forward_wrapper>")
        return fn(self, x) + 1
    return inner


def caller(x):
    LOG.append("mindspeed.caller")
    return -x


def count_wrapper(fn):
    def wrapper(x):
        LOG.append("count_wrapper>")
        return fn(x) * 100
    return wrapper


def count_exact(x):
    LOG.append("mindspeed.count_exact")
    return x - 1


def step_fast(x):
    LOG.append("mindspeed.step_fast")
    return x + 30


def total_wrapper(fn):
    def wrapper(x):
        LOG.append("total_wrapper>")
        return fn(x) * 1000
    return wrapper


def scale_decorator(fn):
    @wraps(fn)
    def inner(x):
        LOG.append("scale_decorator>")
        return fn(x) * 10
    return inner
"""

SCENARIO = """
from megatron.calls import attempt


def run():
    from megatron.core import ops, user
    from mindspeed import patches
    layer = ops.Layer(3)
    return [
        ops.caller(2), user.use(3), attempt(user.use, -1), ops.scale.__name__, user.scale is ops.scale,
        layer.forward(1), ops.Layer.size("abcd"), ("size", type(ops.Layer.__dict__["size"]).__name__),
        attempt(lambda: layer.describe()), patches.scale_fast is getattr(ops, "scale_fast", patches.scale_fast),
        ops.caller.__name__, patches.caller(5), ops.Layer.count(2), ops.Layer.total(2), attempt(lambda: layer.total(3)),
        type(ops.Layer.__dict__["total"]).__name__, ops.Layer.step(1), attempt(layer.stepped, 1),
        type(ops.Layer.__dict__["step"]).__name__, ops.Layer.halve(8), type(ops.Layer.__dict__["halve"]).__name__,
        type(ops.Layer.__dict__["width"]).__name__, attempt(lambda: layer.width() if callable(layer.width)
                                                             else layer.width),
    ]
"""

TARGETS = {
    "megatron.core.ops.scale": [
        {"patch_import": "mindspeed.patches.scale_fast", "condition": ["args.fast"]},
        {"patch_import": "mindspeed.patches.scale_decorator", "condition": ["args.level == 2"]},
        {"patch_import": "mindspeed.patches.scale_exact", "condition": ["args.level == 3", "not args.fast"]},
    ],
    "megatron.core.ops.Layer.forward": [
        {"patch_import": "mindspeed.patches.forward", "condition": ["args.fast"]},
        {"patch_import": "mindspeed.patches.forward_wrapper", "condition": ["getattr(args, 'level', 0) == 2"]},
    ],
    "megatron.core.ops.Layer.size": [{"patch_import": "mindspeed.patches.size", "condition": ["args.level == 3"]}],
    # a staticmethod replaced and wrapped under conditions: each branch stays a staticmethod, and a wrapper
    # wraps the function a lookup returns (a wrapper registered twice is kept once from 2.2.0)
    "megatron.core.ops.Layer.count": [
        {"patch_import": "mindspeed.patches.count_wrapper", "condition": ["args.fast"]},
        {"patch_import": "mindspeed.patches.count_exact", "condition": ["args.level == 3"]},
        {"patch_import": "mindspeed.patches.total_wrapper", "condition": ["args.level == 2"]},
        {"patch_import": "mindspeed.patches.count_wrapper", "condition": ["args.level == 3"]},
    ],
    # an unconditional wrapper over conditional branches of a staticmethod: always the function a lookup returns
    "megatron.core.ops.Layer.halve": [
        {"patch_import": "mindspeed.patches.count_wrapper"},
        {"patch_import": "mindspeed.patches.count_exact", "condition": ["args.fast"]},
    ],
    # deferred: its branch binds the runtime's plain function (Megatron reads it through `self`), the original
    # stays a staticmethod, and a wrapper would wrap either; its conditions still read from the adaptor's parse
    "megatron.core.ops.Layer.step": [
        {"patch_import": "mindspeed.patches.count_wrapper", "condition": ["args.fast"]},
        {"patch_import": "mindspeed.patches.step_fast", "condition": ["args.level == 3"]},
    ],
    # a staticmethod wrapped under a condition: the wrapper wraps the function a lookup returns
    "megatron.core.ops.Layer.total": [
        {"patch_import": "mindspeed.patches.total_wrapper", "condition": ["args.fast"]},
        {"patch_import": "mindspeed.patches.count_wrapper", "condition": ["args.level == 2"]},
    ],
    # a patch with the target's own name: the branch rebinds the name, the patch keeps a binding of its own
    "megatron.core.ops.caller": [{"patch_import": "mindspeed.patches.caller", "condition": ["args.level == 2"]}],
    "megatron.core.ops.Layer.describe": [{"patch_import": "mindspeed.patches.describe", "condition": ["args.fast"]}],
    # a property replaced by a plain function under a condition: the runtime binds the function as it is
    "megatron.core.ops.Layer.width": [
        {"patch_import": "mindspeed.patches.width_fast", "condition": ["args.level == 2"]}
    ],
}


def _scenario(**extra) -> Scenario:
    return Scenario(
        "conditional in source",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "Megatron-LM/megatron/core/user.py": USER,
            "MindSpeed/mindspeed/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        TARGETS,
        # the runtime binds the plain function `size` over the staticmethod; in source it stays a staticmethod
        noted=(("megatron.core.ops.Layer.size#0", "fused as a staticmethod", "('size', 'function')",
                "('size', 'staticmethod')"),),
        **extra,
    )


def _report(fused) -> dict[str, dict]:
    report = json.loads((fused / ".patchmerge" / "report" / "report.json").read_text())
    return {p["id"]: p for p in report["patches"]}


def test_conditional_bindings_are_fused_in_source_and_run_like_the_runtime(tmp_path):
    outcomes = compare(tmp_path, _scenario())
    report = _report(tmp_path / "fused")
    strategies = {pid: p["strategy"] for pid, p in report.items()}
    assert strategies.pop("megatron.core.ops.Layer.step#0") == "deferred"
    assert strategies.pop("megatron.core.ops.Layer.step#1") == "deferred"
    assert "would wrap different kinds" in report["megatron.core.ops.Layer.step#1"]["strategy_reason"]
    # bound as a staticmethod; where no wrapper applies that differs through an instance, and the report says so;
    # where a wrapper always applies, what the class holds is the wrapper's function, as at runtime: no note
    assert any("fused as a staticmethod" in n for n in report["megatron.core.ops.Layer.count#1"]["notes"])
    assert not any("fused as a staticmethod" in n for n in report["megatron.core.ops.Layer.halve#1"]["notes"])
    assert set(strategies.values()) == {"in-source"}
    assert len({o["result"] for o in outcomes}) > 3  # the condition values lead to different programs


def test_a_value_megatron_validation_changes_does_not_decide_the_branch(tmp_path):
    """MindSpeed-LLM's validation sets args.unaligned_linear = False in Megatron's args; the runtime decided
    from its own parse before that. The fused tree follows the runtime, not Megatron's validated args, in the
    deferred fallback too (Layer.count)."""
    outcomes = compare(tmp_path, _scenario(megatron_overrides={"fast": False, "level": None}))
    assert any("mindspeed.scale_fast" in o["calls"] for o in outcomes)


def test_the_branches_read_as_code_at_the_definition(tmp_path):
    pristine, fused = build(tmp_path, _scenario())
    ops = (fused / "Megatron-LM/megatron/core/ops.py").read_text()
    assert "if _patchmerge.adaptation_args().fast:\n    scale = scale_fast" in ops
    assert "# patchmerge: megatron.core.ops.scale replaced by mindspeed.patches.scale_fast if args.fast (" in ops
    assert "_MemberRouter" not in ops and "fused_function" not in ops  # no stand-in anywhere
    # code that runs only under a condition imports what it needs when it runs, not when Megatron's module loads
    assert "def scale_decorator(fn):\n    from functools import wraps\n" in ops
    assert "\nfrom functools import wraps" not in ops
    probe = textwrap.dedent("""
        import inspect, pickle, sys
        sys.argv = ["pretrain.py", "--fast"]
        from megatron.core import ops
        from mindspeed import patches
        print(inspect.getsourcefile(ops.scale).endswith("megatron/core/ops.py"))
        print("mindspeed.scale_fast" in inspect.getsource(ops.scale))
        print(pickle.loads(pickle.dumps(ops.scale)) is ops.scale, patches.scale_fast is ops.scale)
        print(type(ops.Layer.__dict__["size"]).__name__)
    """)
    roots = [fused / r for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, roots)), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:4] == ["True", "True", "True True", "staticmethod"]


def test_a_condition_the_adaptor_parse_does_not_define_falls_back_with_the_reason(tmp_path):
    targets = {**TARGETS, "megatron.core.ops.Layer.describe": [
        {"patch_import": "mindspeed.patches.describe", "condition": ["args.fast"]},
    ]}
    scenario = _scenario()
    scenario.patches = targets
    pristine, fused = build(tmp_path, scenario)
    arguments = pristine / "MindSpeed-LLM/mindspeed_llm/arguments.py"
    assert "--fast" in arguments.read_text()
    # the same tree with the option gone from the adaptor's parser: the merge cannot decide args.fast at import
    for tree in (pristine, fused):
        path = tree / "MindSpeed-LLM/mindspeed_llm/arguments.py"
        path.write_text(path.read_text().replace("'--fast'", "'--quick'"))
    again = tmp_path / "again"
    subprocess.run(["cp", "-r", str(pristine), str(again)], check=True)
    from patchmerge.cli import main

    assert main(["merge", str(again), "--profile", str(tmp_path / "profile.toml")]) == 0
    report = _report(again)
    describe = report["megatron.core.ops.Layer.describe#0"]
    assert describe["strategy"] == "deferred"
    assert "args.fast is not an option of the adaptor's parser" in describe["strategy_reason"]


def test_with_the_2_2_0_semantics_a_wrapper_registered_twice_applies_once(tmp_path):
    """Layer.count's count_wrapper is registered under two conditions: from 2.2.0 the Patch keeps it once."""
    outcomes = compare(tmp_path, _scenario(semantics="2.2.0"))
    assert len({o["result"] for o in outcomes}) > 3
    ops = (tmp_path / "fused/Megatron-LM/megatron/core/ops.py").read_text()
    assert "level == 3 and not _patchmerge.adaptation_args().fast:\n        count = count_wrapper(count)" in ops
