"""A plain function that replaces a staticmethod: the runtime binds the function as it is (a plain function in
the class `__dict__`); in source it is written as a staticmethod (SPEC 3.2), as an engineer would write it and
as TorchScript needs to compile the class, where its module reads it only through the class. Called through
the class, the two agree for every condition value; called through an instance they differ, and the report
notes it for that patch. Where its module reads it through an instance, it stays the runtime's plain function."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.differential.harness import Scenario, build, compare

OPS = """
from megatron.calls import LOG


class Shape:
    @staticmethod
    def area(w, h):
        LOG.append("megatron.area")
        return w * h

    @staticmethod
    def volume(w, h, d):
        LOG.append("megatron.volume")
        return w * h * d

    @staticmethod
    def perimeter(w, h):
        return 2 * (w + h)

    @staticmethod
    def twice(w, h):
        return 2 * w * h

    def doubled(self, w, h):
        return self.twice(w, h)  # through the instance: the patch below takes it
"""

PATCHES = """
from megatron.calls import LOG


def area(w, h):
    LOG.append("mindspeed.area")
    return w * h + 1


def volume_fast(w, h, d):
    LOG.append("mindspeed.volume_fast")
    return w * h * d + 2


def perimeter(self, w, h):  # written to take the instance: bound as the runtime binds it
    return 4 * (w + h)


def twice(shape, w, h):  # Megatron calls it through `self`: the runtime passes the instance
    return 3 * w * h
"""

SCENARIO = """
from megatron.calls import attempt


def run():
    from megatron.core.ops import Shape
    kinds = {name: type(Shape.__dict__[name]).__name__ for name in ("area", "volume", "perimeter", "twice")}
    return [Shape.area(2, 3), Shape.volume(1, 2, 3), attempt(Shape().perimeter, 1, 2), Shape().doubled(1, 2),
            sorted(kinds.items())]
"""


def _scenario() -> Scenario:
    return Scenario(
        "plain function over a staticmethod",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed/mindspeed/shapes.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        {
            "megatron.core.ops.Shape.area": [{"patch_import": "mindspeed.shapes.area"}],
            "megatron.core.ops.Shape.volume": [
                {"patch_import": "mindspeed.shapes.volume_fast", "condition": ["args.fast"]}
            ],
            "megatron.core.ops.Shape.perimeter": [{"patch_import": "mindspeed.shapes.perimeter"}],
            "megatron.core.ops.Shape.twice": [{"patch_import": "mindspeed.shapes.twice"}],
        },
        noted=(
            ("megatron.core.ops.Shape.area#0", "fused as a staticmethod", "('area', 'function')",
             "('area', 'staticmethod')"),
            ("megatron.core.ops.Shape.volume#0", "fused as a staticmethod", "('volume', 'function')",
             "('volume', 'staticmethod')"),
        ),
    )


def test_a_plain_function_over_a_staticmethod_is_written_as_a_staticmethod(tmp_path):
    plain, fast = compare(tmp_path, _scenario())  # equal to the runtime up to the noted kind
    assert "('area', 'function')" in plain["result"] and "('volume', 'function')" in fast["result"]
    assert "('perimeter', 'function')" in plain["result"]  # takes the instance: the runtime's kind, no note
    assert "('twice', 'function')" in plain["result"]  # its module reads it through `self`: the runtime's kind
    assert ", 6, [" in plain["result"]  # self.twice(1, 2) ran the patch with the instance, as at runtime
    ops = (tmp_path / "fused/Megatron-LM/megatron/core/ops.py").read_text()
    assert "@staticmethod\n    def area(w, h):" in ops
    assert "volume = staticmethod(volume_fast)" in ops


def test_through_an_instance_the_noted_difference_shows(tmp_path):
    """What the note says, shown on the fused tree: through an instance, the staticmethod is not passed the
    instance (the runtime's plain function would be, and raise TypeError for the extra argument)."""
    pristine, fused = build(tmp_path, _scenario())
    probe = "from megatron.core.ops import Shape\nprint(Shape().area(2, 3))"
    roots = [fused / r for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, roots)), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "7", done.stderr
