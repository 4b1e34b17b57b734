"""Bindings the in-source strategy takes, compared with runtime patching in every way a run may use the tree;
and the fused tree seen as code: the kind in the class `__dict__`, `inspect.getsource`, pickling by name."""

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
from megatron.core import ops as megatron_ops

_STATE = {"calls": 0}
COUNTER = 0


def _bump():
    global COUNTER
    COUNTER += 1
    return COUNTER


def scale(x):
    LOG.append("mindspeed.scale")
    _STATE["calls"] += 1
    if x < 0:
        raise ValueError("negative")
    return x * 3 + _bump() * 0 + COUNTER


def size(x):
    LOG.append("mindspeed.size")
    return len(x) * 10


def describe(self):
    return f"layer {self.n} of {megatron_ops.__name__}"


def state():
    return _STATE["calls"], COUNTER
"""

WRAPPERS = """
from functools import wraps

from megatron.calls import LOG


def forward_wrapper(fn):
    @wraps(fn)
    def wrapper(self, x):
        LOG.append("llm.forward_wrapper")
        return fn(self, x) + 1

    return wrapper


def forward_decorator(fn):
    def inner(self, x):
        LOG.append("llm.forward_decorator")
        return fn(self, x) * 10

    return inner


def width_wrapper(prop):
    return property(lambda self: prop.fget(self) + 100)


def size_wrapper(fn):
    def wrapped(x):
        LOG.append("llm.size_wrapper")
        return fn(x) + 5

    return wrapped
"""

SCENARIO_RUN = """
from megatron.calls import attempt


def run():
    from megatron.core import ops, user
    from mindspeed import patches
    layer = ops.Layer(3)
    out = [ops.caller(2), user.use(3), attempt(user.use, -1), user.scale is ops.scale, patches.scale is ops.scale]
    out += [layer.forward(1), ops.Layer.size("abc"), layer.width, layer.describe()]
    out += [type(vars(ops.Layer)["size"]).__name__, type(vars(ops.Layer)["width"]).__name__]
    out += [patches.state()]
    return out
"""

FILES = {
    "Megatron-LM/megatron/core/__init__.py": "",
    "Megatron-LM/megatron/core/ops.py": OPS,
    "Megatron-LM/megatron/core/user.py": USER,
    "MindSpeed/mindspeed/patches.py": PATCHES,
    "MindSpeed-LLM/mindspeed_llm/wrappers.py": WRAPPERS,
    "MindSpeed-LLM/scenario.py": SCENARIO_RUN,
}

PATCH_JSON = {
    "megatron.core.ops.scale": [{"patch_import": "mindspeed.patches.scale"}],
    "megatron.core.ops.Layer.forward": [
        {"patch_import": "mindspeed_llm.wrappers.forward_wrapper"},
        {"patch_import": "mindspeed_llm.wrappers.forward_decorator"},
    ],
    "megatron.core.ops.Layer.size": [
        {"patch_import": "mindspeed.patches.size"},
        {"patch_import": "mindspeed_llm.wrappers.size_wrapper"},
    ],
    "megatron.core.ops.Layer.width": [{"patch_import": "mindspeed_llm.wrappers.width_wrapper"}],
    "megatron.core.ops.Layer.describe": [{"patch_import": "mindspeed.patches.describe"}],
}


def _strategies(fused) -> set[str]:
    report = json.loads((fused / ".patchmerge" / "report" / "report.json").read_text())
    return {p["strategy"] for p in report["patches"]}


def test_in_source_bindings_run_like_the_runtime_in_every_way(tmp_path):
    scenario = Scenario("in-source", FILES, PATCH_JSON)
    (outcome,) = compare(tmp_path, scenario)
    assert _strategies(tmp_path / "fused") == {"in-source"}
    # the moved scale reads and writes the patch module's state through the patch module
    assert outcome["calls"].count("mindspeed.scale") == 3 and "ValueError" in outcome["result"]
    assert "llm.forward_decorator" in outcome["calls"] and "'function', 'property'" in outcome["result"]


INTROSPECT = """
import inspect, json, pickle, sys
import megatron.training.global_vars as global_vars
from megatron.core import ops
from mindspeed import patches
print(json.dumps({
    "scale_file": inspect.getsourcefile(ops.scale),
    "scale_source": inspect.getsource(ops.scale),
    "describe_source": inspect.getsource(ops.Layer.describe),
    "pickled": pickle.loads(pickle.dumps(ops.scale)) is ops.scale,
    "qualname": ops.Layer.describe.__qualname__,
    "one_definition": patches.scale is ops.scale and patches.describe is ops.Layer.describe,
}))
"""


def test_in_source_targets_read_as_ordinary_code(tmp_path):
    _, fused = build(tmp_path, Scenario("in-source", FILES, PATCH_JSON))
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join(str(fused / r) for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM"))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(INTROSPECT)], env=env, capture_output=True,
                          text=True, timeout=60, cwd=fused)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["scale_file"].endswith("Megatron-LM/megatron/core/ops.py")
    assert 'LOG.append("mindspeed.scale")' in seen["scale_source"]
    assert seen["scale_source"].startswith("def scale(x):")
    assert "megatron_ops.__name__" in seen["describe_source"]
    assert seen["pickled"] and seen["one_definition"]
    assert seen["qualname"] == "Layer.describe"
    fused_ops = (fused / "Megatron-LM/megatron/core/ops.py").read_text()
    assert "_patchmerge_settle" not in fused_ops and "fused_member" not in fused_ops


def _calls_original(known_broken: dict[str, str] | None = None) -> Scenario:
    return Scenario(
        "calls-original",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "Megatron-LM/megatron/core/user.py": USER,
            "MindSpeed/mindspeed/patches.py": """
                from megatron.calls import LOG
                from megatron.core.ops import Layer, scale as megatron_scale


                def scale(x):
                    LOG.append("mindspeed.scale")
                    return megatron_scale(x) + 1


                def forward(self, x):
                    LOG.append("mindspeed.forward")
                    return Layer.size("ab") + x


                def init(self, n):
                    super(Layer, self).__init__()  # the base's __init__, not the one it replaces
                    self.n = n + 1
            """,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import ops
    return [ops.caller(2), ops.Layer(1).forward(3)]
""",
        },
        {
            "megatron.core.ops.scale": [{"patch_import": "mindspeed.patches.scale"}],
            "megatron.core.ops.Layer.forward": [{"patch_import": "mindspeed.patches.forward"}],
            "megatron.core.ops.Layer.__init__": [{"patch_import": "mindspeed.patches.init"}],
        },
        known_broken=known_broken or {},
    )


def test_a_replacement_that_calls_the_original_keeps_it_above_under_that_name(tmp_path):
    """Moved in place of `scale` and read as the target, `megatron_scale` would be the patch itself: the
    original stays above it, bound to `megatron_scale`, which the patch module imports from there."""
    _, fused = build(tmp_path, _calls_original())
    report = json.loads((fused / ".patchmerge" / "report" / "report.json").read_text())
    strategies = {p["id"]: (p["strategy"], p["strategy_reason"] or "") for p in report["patches"]}
    assert strategies["megatron.core.ops.scale#0"] == ("in-source", "")
    ops = (fused / "Megatron-LM/megatron/core/ops.py").read_text()
    original, replacement = ops.index("def scale("), ops.rindex("def scale(")
    kept = ops.index("megatron_scale = scale  # the original, which the replacement below calls")
    assert original < kept < replacement
    patches = (fused / "MindSpeed/mindspeed/patches.py").read_text()
    assert "from megatron.core.ops import Layer, megatron_scale" in patches
    assert strategies["megatron.core.ops.Layer.forward#0"] == ("in-source", "")  # reads the class, not .forward
    assert strategies["megatron.core.ops.Layer.__init__#0"] == ("in-source", "")


def test_a_patch_calling_the_original_under_an_alias_runs_like_the_runtime(tmp_path):
    """The patch module imported the original under an alias before the runtime patched: the deferred
    fallback's stand-in there becomes the original again when it settles, so the patch does not call itself."""
    compare(tmp_path, _calls_original())


def _read_at_import(condition: list[str]) -> Scenario:
    return Scenario(
        "read-at-import",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/gemm.py": """
                grouped_gemm = None


                def available():
                    return grouped_gemm is not None


                ops = grouped_gemm.ops if available() else None
            """,
            "MindSpeed/mindspeed/gemm.py": """
                def available():
                    return True
            """,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import gemm
    return [gemm.available(), gemm.ops]
""",
        },
        {"megatron.core.gemm.available": [{"patch_import": "mindspeed.gemm.available", "condition": condition}]},
    )


def test_a_def_module_code_calls_at_import_keeps_the_original_for_that_call(tmp_path):
    """`ops = ... if available() else None` runs at import with the original at runtime (patched later): in
    source Megatron's def stays for that call and the patch's def rebinds the name at the end of the module."""
    (outcome,) = compare(tmp_path, _read_at_import([]))
    assert outcome["result"] == "[True, None]"
    report = json.loads((tmp_path / "fused" / ".patchmerge" / "report" / "report.json").read_text())
    (patch,) = report["patches"]
    assert patch["strategy"] == "in-source"
    gemm = (tmp_path / "fused/Megatron-LM/megatron/core/gemm.py").read_text()
    assert gemm.index("return grouped_gemm is not None") < gemm.index("ops = ") < gemm.index("return True")


def test_a_def_module_code_calls_at_import_replaced_under_a_condition_falls_back(tmp_path):
    outcomes = compare(tmp_path, _read_at_import(["args.fast"]))
    assert {o["result"] for o in outcomes} == {"[False, None]", "[True, None]"}
    report = json.loads((tmp_path / "fused" / ".patchmerge" / "report" / "report.json").read_text())
    (patch,) = report["patches"]
    assert patch["strategy"] == "deferred" and "reads available when it runs" in patch["strategy_reason"]


def test_a_class_module_code_uses_at_import_falls_back(tmp_path):
    """`DEFAULT = Norm()` runs at import with Megatron's class at runtime: a class is not given the
    end-of-module form (a second class statement of one name would hide the first from `inspect`)."""
    scenario = Scenario(
        "class read at import",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/norm.py": """
                class Norm:
                    kind = "megatron"


                DEFAULT = Norm()


                def make():
                    return Norm().kind
            """,
            "MindSpeed/mindspeed/norm.py": """
                class Norm:
                    kind = "mindspeed"
            """,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import norm
    return [norm.make(), norm.DEFAULT.kind]
""",
        },
        {"megatron.core.norm.Norm": [{"patch_import": "mindspeed.norm.Norm"}]},
    )
    (outcome,) = compare(tmp_path, scenario)
    assert outcome["result"] == "['mindspeed', 'megatron']"
    report = json.loads((tmp_path / "fused" / ".patchmerge" / "report" / "report.json").read_text())
    (patch,) = report["patches"]
    assert patch["strategy"] == "deferred" and "reads Norm when it runs" in patch["strategy_reason"]
