"""The shape of in-source output, per kind: before/after files (as libcst's CodemodTest checks a codemod), and a
second merge of the output changes nothing.

The expected files live in `golden/<case>/`; after a deliberate change of the output, regenerate them with
`PATCHMERGE_UPDATE_GOLDEN=1 pytest tests/fusion/insource/test_golden.py` and read the diff before committing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from patchmerge.cli import main
from tests.differential.harness import BASE_FILES, _adaptor
from tests.trees import profile_text

GOLDEN = Path(__file__).parent / "golden"
ADAPTOR = "MindSpeed-LLM/mindspeed_llm/adaptor.py"
ARGUMENTS = "MindSpeed-LLM/mindspeed_llm/arguments.py"  # the adaptor's own parser: conditions read its options

MEGATRON_OPS = '''\
"""Ops."""

from megatron.calls import LOG

LIMIT = 4


def scale(x):
    """Megatron's scale."""
    LOG.append("megatron.scale")
    return x * 2


class Layer:
    def __init__(self, n):
        self.n = n

    # Megatron's forward
    def forward(self, x):
        LOG.append("megatron.forward")
        return x * self.n

    @staticmethod
    def size(x):
        return len(x)


def caller(x):
    return scale(x) + Layer(2).forward(x)
'''

CASES = {
    "replace-function": (
        {
            "MindSpeed/mindspeed/ops.py": '''\
                import math

                from megatron.calls import LOG

                FACTOR = 3


                def _clip(x):
                    return min(x, 10)


                # MindSpeed's scale: rounds up
                def scale_fast(x):
                    """MindSpeed's scale."""
                    LOG.append("mindspeed.scale")
                    return _clip(math.ceil(x * FACTOR))
            ''',
        },
        {"megatron.core.ops.scale": [{"patch_import": "mindspeed.ops.scale_fast", "patch_name": "scale_fast"}]},
    ),
    "replace-method-and-staticmethod": (
        {
            "MindSpeed/mindspeed/layer.py": '''\
                from megatron.calls import LOG
                from mindspeed.util import twice


                def forward(self, x):
                    LOG.append("mindspeed.forward")
                    return twice(x) * self.n


                def size(x):
                    return len(x) + 1
            ''',
            "MindSpeed/mindspeed/util.py": "def twice(x):\n    return 2 * x\n",
        },
        {
            "megatron.core.ops.Layer.forward": [{"patch_import": "mindspeed.layer.forward", "patch_name": "forward"}],
            "megatron.core.ops.Layer.size": [{"patch_import": "mindspeed.layer.size", "patch_name": "size"}],
        },
    ),
    "wrap-function-and-method": (
        {
            "MindSpeed-LLM/mindspeed_llm/wrappers.py": '''\
                from functools import wraps

                from megatron.calls import LOG


                def scale_wrapper(fn):
                    @wraps(fn)
                    def wrapper(x):
                        LOG.append("llm.scale_wrapper")
                        return fn(x) + 1

                    return wrapper


                def forward_decorator(fn):
                    def inner(self, x):
                        LOG.append("llm.forward_decorator")
                        return fn(self, x) - 1

                    return inner
            ''',
        },
        {
            "megatron.core.ops.scale": [
                {"patch_import": "mindspeed_llm.wrappers.scale_wrapper", "patch_name": "scale_wrapper"}
            ],
            "megatron.core.ops.Layer.forward": [
                {"patch_import": "mindspeed_llm.wrappers.forward_decorator", "patch_name": "forward_decorator"}
            ],
        },
    ),
    "conditional-function-and-method": (
        {
            "MindSpeed/mindspeed/routes.py": '''\
                from megatron.calls import LOG


                def scale_tp2d(x):
                    """2-D tensor parallel scale."""
                    LOG.append("mindspeed.scale_tp2d")
                    return x * 4


                def forward(self, x):
                    LOG.append("mindspeed.forward")
                    return x + self.n


                def scale_wrapper(fn):
                    def wrapper(x):
                        return fn(x) + 1

                    return wrapper
            ''',
            ARGUMENTS: '''\
                def process_args(parser):
                    group = parser.add_argument_group(title="2d-tp")
                    group.add_argument("--tp-2d", action="store_true", default=False)
                    group.add_argument("--dispatcher", type=str, choices=["allgather", "alltoall"], default="allgather")
                    return parser
            ''',
        },
        {
            "megatron.core.ops.scale": [
                {"patch_import": "mindspeed.routes.scale_tp2d", "patch_name": "scale_tp2d",
                 "condition": ["args.tp_2d"]},
                {"patch_import": "mindspeed.routes.scale_wrapper", "patch_name": "scale_wrapper",
                 "condition": ["args.dispatcher == 'alltoall'"]},
            ],
            "megatron.core.ops.Layer.forward": [
                {"patch_import": "mindspeed.routes.forward", "patch_name": "forward",
                 "condition": ["args.tp_2d", "args.dispatcher != 'alltoall'"]},
            ],
        },
    ),
    "conditional-class": (
        {
            "MindSpeed/mindspeed/layers.py": '''\
                from megatron.calls import LOG
                from megatron.core.ops import Layer as MegatronLayer


                class Layer2D(MegatronLayer):
                    """2-D tensor parallel layer."""

                    def forward(self, x):
                        LOG.append("mindspeed.Layer2D.forward")
                        return super().forward(x) * 2


                class Layer:
                    """MindSpeed's layer, of Megatron's name."""

                    def __init__(self, n):
                        self.n = -n
            ''',
            ARGUMENTS: '''\
                def process_args(parser):
                    parser.add_argument("--tp-2d", action="store_true", default=False)
                    parser.add_argument("--negative", action="store_true", default=False)
                    return parser
            ''',
        },
        {
            "megatron.core.ops.Layer": [
                {"patch_import": "mindspeed.layers.Layer2D", "patch_name": "Layer2D", "condition": ["args.tp_2d"]},
                {"patch_import": "mindspeed.layers.Layer", "patch_name": "Layer", "condition": ["args.negative"]},
            ],
        },
    ),
    "new-function-and-method": (
        {
            "MindSpeed/mindspeed/extra.py": '''\
                from megatron.core.ops import LIMIT


                def limit():
                    return LIMIT


                def describe(self):
                    return f"layer of {self.n}"
            ''',
        },
        {
            "megatron.core.ops.limit": [{"patch_import": "mindspeed.extra.limit", "patch_name": "limit"}],
            "megatron.core.ops.Layer.describe": [
                {"patch_import": "mindspeed.extra.describe", "patch_name": "describe"}
            ],
        },
    ),
    "condition-calling-a-function": (
        {
            "MindSpeed-LLM/mindspeed_llm/features.py": '''\
                import argparse

                from megatron.training import get_args


                def is_enable_fast(args=None):
                    args = args if args else get_args()
                    if hasattr(args, "tp_2d") and args.tp_2d:
                        return True
                    parser = argparse.ArgumentParser()
                    parser.add_argument("--fast-nf4", action="store_true")
                    args, _ = parser.parse_known_args()
                    return args.fast_nf4
            ''',
            "MindSpeed-LLM/mindspeed_llm/fast.py": '''\
                from megatron.calls import LOG


                def scale_fast(x):
                    LOG.append("llm.scale_fast")
                    return x * 8
            ''',
            ARGUMENTS: '''\
                def process_args(parser):
                    parser.add_argument("--tp-2d", action="store_true", default=False)
                    return parser
            ''',
        },
        {
            "megatron.core.ops.scale": [
                {"patch_import": "mindspeed_llm.fast.scale_fast", "patch_name": "scale_fast",
                 "condition": ["is_enable_fast(args)"], "condition_import": ["mindspeed_llm.features.is_enable_fast"]},
            ],
        },
    ),
    "replaced-by-a-def-of-its-module": (
        {
            "MindSpeed-LLM/mindspeed_llm/wrappers.py": '''\
                def scale_wrapper(fn):
                    def wrapper(x):
                        return fn(x) + 1

                    return wrapper
            ''',
        },
        {
            "megatron.core.ops.caller": [{"patch_import": "megatron.core.ops.scale", "patch_name": "scale"}],
            "megatron.core.ops.scale": [
                {"patch_import": "mindspeed_llm.wrappers.scale_wrapper", "patch_name": "scale_wrapper"}
            ],
        },
    ),
    "annotations-only-the-patch-module-gives": (
        {
            "MindSpeed/mindspeed/layer.py": '''\
                from megatron.calls import LOG
                from megatron.core.ops import Layer


                class Graph:
                    """MindSpeed's graph of a layer."""


                def forward(self, x, graph: Graph = None) -> int:
                    LOG.append("mindspeed.forward")
                    return x * self.n
            ''',
        },
        {"megatron.core.ops.Layer.forward": [{"patch_import": "mindspeed.layer.forward", "patch_name": "forward"}]},
    ),
}


def _tree(base: Path, case: str) -> Path:
    files, patches = CASES[case]
    root = base / "root"
    written = {
        **BASE_FILES,
        "Megatron-LM/megatron/core/__init__.py": "",
        "Megatron-LM/megatron/core/ops.py": MEGATRON_OPS,
        **files,
        ADAPTOR: _adaptor(patches),
    }
    for relative, text in written.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dedent(text))
    (root / "patches.json").write_text(json.dumps(patches, indent=2))
    (base / "profile.toml").write_text(profile_text("golden", [ADAPTOR], adaptor_args_files=[ARGUMENTS]))
    return root


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).lstrip("\n")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*.py"))
        if ".patchmerge" not in p.parts and p.name != "_patchmerge.py"
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_in_source_output_matches_golden_files_and_is_idempotent(tmp_path, case, capsys):
    root = _tree(tmp_path, case)
    before = _snapshot(root)
    assert main(["merge", str(root), "--profile", str(tmp_path / "profile.toml")]) == 0
    report = json.loads((root / ".patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}, report["patches"]
    after = _snapshot(root)
    changed = {path: data for path, data in after.items() if before.get(path) != data}
    expected_dir = GOLDEN / case
    if os.environ.get("PATCHMERGE_UPDATE_GOLDEN"):
        shutil.rmtree(expected_dir, ignore_errors=True)
        for path, data in changed.items():
            (expected_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / path).write_bytes(data)
    expected = {p.relative_to(expected_dir).as_posix(): p.read_bytes() for p in expected_dir.rglob("*.py")}
    assert sorted(changed) == sorted(expected)
    for path, data in expected.items():
        assert changed[path].decode() == data.decode(), path

    capsys.readouterr()
    assert main(["merge", str(root), "--profile", str(tmp_path / "profile.toml")]) == 0
    assert _snapshot(root) == after, "a second merge changed the fused tree"
    again = json.loads((root / ".patchmerge/report/report.json").read_text())
    assert {p["outcome"] for p in again["patches"]} == {"already-fused"}
