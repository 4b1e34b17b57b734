"""A registration made in a `try` that catches ImportError happens or not as an import there works or fails
(MindSpeed 26.1.0 registers its triton sort ops only where `mindspeed.lite.ops.triton` imports). A patch JSON
cannot say so: fused under its conditions alone, the fused tree imports the patch module where the runtime
skipped it, and fails where the library is missing. So the patch stays a runtime patch, its registration
active, with the reason in the report; the others fuse as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from patchmerge.cli import main
from tests.differential.harness import BASE_FILES
from tests.trees import profile_text

ADAPTOR = """
class MegatronAdaptation:
    @classmethod
    def register(cls, orig_func_name, new_func=None, force_patch=False):
        pass


def adapt(args):
    from mindspeed.plain import scale
    MegatronAdaptation.register('megatron.core.ops.scale', scale)
    try:
        from mindspeed.fast_sort import sort_chunks
        MegatronAdaptation.register('megatron.core.ops.sort_chunks', sort_chunks)
    except ImportError:
        pass
"""

FILES = {
    "Megatron-LM/megatron/core/__init__.py": "",
    "Megatron-LM/megatron/core/ops.py": (
        "def scale(x):\n    return x * 2\n\n\ndef sort_chunks(chunks):\n    return list(chunks)\n"
    ),
    "MindSpeed/mindspeed/plain.py": "def scale(x):\n    return x * 3\n",
    "MindSpeed/mindspeed/fast_sort.py": "import a_missing_kernel_library  # noqa: F401\n\n\n"
                                        "def sort_chunks(chunks):\n    return sorted(chunks)\n",
    "MindSpeed-LLM/mindspeed_llm/adaptor.py": ADAPTOR,
}

PATCHES = {
    "megatron.core.ops.scale": [{"patch_import": "mindspeed.plain.scale"}],
    "megatron.core.ops.sort_chunks": [{"patch_import": "mindspeed.fast_sort.sort_chunks"}],
}


def test_a_registration_guarded_by_an_import_stays_a_runtime_patch(tmp_path):
    root = tmp_path / "root"
    for name, text in {**BASE_FILES, **FILES}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "patches.json").write_text(json.dumps(PATCHES))
    profile = tmp_path / "profile.toml"
    profile.write_text(profile_text("guarded", ["MindSpeed-LLM/mindspeed_llm/adaptor.py"]))
    assert main(["merge", str(root), "--profile", str(profile)]) == 1  # partial: one patch left unfused
    report = {p["id"]: p for p in json.loads((root / ".patchmerge/report/report.json").read_text())["patches"]}
    assert report["megatron.core.ops.scale#0"]["outcome"] == "fused"
    guarded = report["megatron.core.ops.sort_chunks#0"]
    assert guarded["outcome"] == "failed"
    assert "adaptor.py:13 in a `try` that catches ImportError" in guarded["reason"]
    adaptor = (root / "MindSpeed-LLM/mindspeed_llm/adaptor.py").read_text()
    assert "        MegatronAdaptation.register('megatron.core.ops.sort_chunks', sort_chunks)\n" in adaptor
    # the fused tree imports and runs where the kernel library is missing, as the runtime does
    roots = [root / r for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, roots)), PYTHONDONTWRITEBYTECODE="1")
    code = "from megatron.core import ops\nprint(ops.scale(2), ops.sort_chunks([2, 1]))\n"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "6 [2, 1]"), done.stderr
