"""The modules the adaptor imports before it patches anything (its own parse of the command line, and what that
imports) must not import Megatron earlier than the runtime does. MindSpeed-LLM 26.1.0 parses its args, then
installs its library stand-ins (`transformer_engine`, ...), then imports Megatron, whose modules read at import
whether those libraries are there. A wrapper defined in the parse's own module, moved into Megatron, would be
imported back at that module's top, and so load Megatron before the stand-ins: the binding stays deferred."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, compare

# the adaptor's parser module (runtime.adaptor_args_files), which also defines a wrapper it registers
ARGUMENTS = """
from megatron.calls import LOG


def process_args(parser):
    parser.conflict_handler = 'resolve'
    return parser


def parse_args_wrapper(fn):
    def wrapper():
        LOG.append("mindspeed_llm.parse_args_wrapper")
        return ["wrapped", *fn()]
    return wrapper
"""

# what the adaptor does right after its parse: a library stand-in (as MindSpeed's pre-patches install them)
STAND_INS = """
import sys
import types


def install_stand_ins(args):
    sys.modules.setdefault("fastlib_stand_in", types.ModuleType("fastlib_stand_in"))
    return args
"""

CLI = """
try:
    import fastlib_stand_in  # noqa: F401
    HAVE_FAST = True
except ImportError:
    HAVE_FAST = False


def parse_args():
    return ["parsed", HAVE_FAST]
"""


def test_a_wrapper_of_the_adaptors_parse_module_does_not_load_megatron_before_the_stand_ins(tmp_path):
    scenario = Scenario(
        "a wrapper defined where the adaptor parses",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/cli.py": CLI,
            "MindSpeed-LLM/mindspeed_llm/stand_ins.py": STAND_INS,
            "MindSpeed-LLM/scenario.py": (
                "def run():\n    from megatron.core import cli\n    return [cli.parse_args(), cli.HAVE_FAST]\n"
            ),
        },
        {"megatron.core.cli.parse_args": [{"patch_import": "mindspeed_llm.arguments.parse_args_wrapper"}]},
        arguments=ARGUMENTS,
        adjust="mindspeed_llm.stand_ins:install_stand_ins",
    )
    (outcome,) = compare(tmp_path, scenario)
    assert outcome["result"] == "[['wrapped', 'parsed', True], True]"
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    (patch,) = report["patches"]
    assert patch["strategy"] == "deferred"
    assert "which the modules the adaptor imports before it patches never import" in patch["strategy_reason"]
