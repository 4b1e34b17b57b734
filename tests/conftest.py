from __future__ import annotations

import contextlib
import json
import os
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL_PATCH_JSON = SHARED_DATA / "mindspeed_llm_core_r0.8.0_patches.json"
# the real patch JSON lives beside the repository, not in it: a fresh clone skips the tests that read it
needs_real_patch_json = pytest.mark.skipif(
    not REAL_PATCH_JSON.is_file(),
    reason=f"the real patch JSON is not beside the repository (../shared/data/{REAL_PATCH_JSON.name})",
)


def write_tree(base: Path, files: dict[str, str]) -> Path:
    """Write {relative path: source} under base; source is dedented."""
    for relative, text in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return base


def fail_os_replace(monkeypatch: pytest.MonkeyPatch, on_call: int, error: BaseException) -> None:
    """Make `os.replace` raise `error` on its `on_call`-th call (from 1); every other call replaces as usual."""
    real_replace = os.replace
    calls = {"n": 0}

    def flaky_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == on_call:
            raise error
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)


@contextlib.contextmanager
def chattr(flag: str, path: Path) -> Iterator[None]:
    """`chattr +FLAG path` for the block; skips the test where chattr cannot set it (not root, tmpfs, overlayfs)."""
    try:
        made = subprocess.run(["chattr", f"+{flag}", str(path)], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.skip("no chattr on this machine")
    if made.returncode != 0:
        pytest.skip(f"chattr +{flag} does not work here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", f"-{flag}", str(path)], capture_output=True, check=False)


@pytest.fixture
def mini_root(tmp_path: Path) -> Path:
    """A tiny ROOT_DIR with the three source roots and a handful of definitions."""
    root = tmp_path / "root"
    write_tree(
        root,
        {
            "Megatron-LM/megatron/__init__.py": "",
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/layers.py": """
                def forward(x):
                    return x

                class Linear:
                    def __init__(self, n):
                        self.n = n

                    def forward(self, x):
                        return x * self.n
            """,
            "Megatron-LM/megatron/training/__init__.py": "from .utils import get_args\n",
            "Megatron-LM/megatron/training/utils.py": "def get_args():\n    return None\n",
            "MindSpeed/mindspeed/__init__.py": "",
            "MindSpeed/mindspeed/layers.py": """
                def forward(x):
                    return x + 1

                def forward_wrapper(fn):
                    return fn

                def is_enabled(args):
                    return True
            """,
            "MindSpeed-LLM/mindspeed_llm/__init__.py": "",
        },
    )
    return root


@pytest.fixture
def write_json(tmp_path: Path):
    def write(data: object, name: str = "patches.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
        return path

    return write
