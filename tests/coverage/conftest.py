"""Probe lines as the fused tree writes them, and a small patch JSON to measure them against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchmerge.coverage.compute import derive_module

PREFIX = "[patchmerge-probe]"

# three targets in two modules (one a class member), five patches
PATCHES = {
    "'megatron.core.x.f'": [
        {"patch_import": "mindspeed.x.f_fast", "condition": ["args.fast"]},
        {"patch_import": "mindspeed.x.f_slow", "condition": ["args.slow"], "force_patch": True},
        {"patch_import": "mindspeed.x.f_wrapper"},
    ],
    "'megatron.core.x.g'": [{"patch_import": "mindspeed.x.g"}],
    "'megatron.core.layers.Linear.forward'": [{"patch_import": "mindspeed.layers.forward", "condition": ["args.z"]}],
}


def probe(pid: str, rank: str | int | None = None, module: str | None = None, prefix: str = PREFIX) -> str:
    """One probe line, without its newline."""
    target, _, index = pid.rpartition("#")
    payload = {
        "id": pid,
        "target": target,
        "patch_import": "" if index == "original" else f"mindspeed.p{index}",
        "condition": "",
        "module": module if module is not None else derive_module(target),
        "rank": None if rank is None else str(rank),
        "pid": 100,
    }
    return f"{prefix} {json.dumps(payload)}"


@pytest.fixture
def patch_json(tmp_path: Path) -> Path:
    path = tmp_path / "patches.json"
    path.write_text(json.dumps(PATCHES), encoding="utf-8")
    return path


def write_log(path: Path, *lines: str, newline_at_end: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + ("\n" if newline_at_end else ""), encoding="utf-8")
    return path
