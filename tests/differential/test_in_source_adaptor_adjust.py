"""The adaptor changes its own parse before conditions read it (MindSpeed-LLM 26.1.0's `get_env_args`: the
HIGH_AVAILABILITY environment variable switches options on). With the function named in
`runtime.adaptor_args_adjust`, the helper carries it and calls it on its own parse, so bindings whose
conditions read those options are fused in source and follow the runtime for every value of the variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.differential.harness import Scenario, compare

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

PATCHES = """
from megatron.calls import LOG


def scale_ha(x):
    LOG.append("mindspeed.scale_ha")
    return x * 3


def forward_wrapper(fn):
    def wrapper(self, x):
        LOG.append("mindspeed.forward_wrapper")
        return fn(self, x) * 10

    return wrapper
"""

# written as MindSpeed-LLM writes get_env_args: the standard library only, the args changed in place
ENV_ARGS = """
import os
import warnings
from os import environ as _environ


def get_env_args(args):
    \"\"\"Switch the high-availability options on from the environment.\"\"\"
    env = os.getenv("SCENARIO_HA", "")
    if not env:
        return args
    for strategy in env.split(","):
        if strategy.lower() in ("dump", "recover"):
            if not getattr(args, "ha", False):
                warnings.warn("SCENARIO_HA set and --ha not given")
            args.ha = True
        if strategy.lower() == "recover" and "SCENARIO_HA" in _environ:
            args.reboot = True
    return args
"""

SCENARIO = """
from megatron.core.ops import Layer, scale


def run():
    return scale(2), Layer().forward(1)
"""

FILES = {
    "Megatron-LM/megatron/core/__init__.py": "",
    "Megatron-LM/megatron/core/ops.py": OPS,
    "MindSpeed/mindspeed/routes.py": PATCHES,
    "MindSpeed-LLM/mindspeed_llm/env_args.py": ENV_ARGS,
    "MindSpeed-LLM/scenario.py": SCENARIO,
}

PATCH_JSON = {
    "megatron.core.ops.scale": [{"patch_import": "mindspeed.routes.scale_ha", "condition": ["args.ha"]}],
    "megatron.core.ops.Layer.forward": [
        {"patch_import": "mindspeed.routes.forward_wrapper", "condition": ["args.reboot"]}
    ],
}


@pytest.mark.parametrize("variable", ["", "dump", "Recover,retry"])
def test_the_adaptors_own_change_to_its_parse_is_made_by_the_helper_too(tmp_path: Path, monkeypatch, variable):
    monkeypatch.setenv("SCENARIO_HA", variable)
    scenario = Scenario("adjust", FILES, PATCH_JSON, adjust="mindspeed_llm.env_args:get_env_args")
    outcomes = compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused" / ".patchmerge" / "report" / "report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}
    results = {o["result"] for o in outcomes}
    if variable == "Recover,retry":  # both options on whatever the command line says
        assert results == {"(6, 20)"}
    elif variable == "dump":
        assert results == {"(6, 2)", "(6, 20)"}
    else:
        assert len(results) == 4
    helper = (tmp_path / "fused" / "Megatron-LM" / "megatron" / "_patchmerge.py").read_text()
    assert "def _adjust_0(args):" in helper and "from os import environ as _environ" in helper
