"""Classes replaced by classes, fused in source: the patch's class moves in place of the original; where it
subclasses the original under an alias, the original stays and the alias is bound to it between the two.
Compared with runtime patching in every way a run may use the tree."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, build, compare

GPT_MODEL = """
from megatron.calls import LOG
from megatron.core.config import Config


class GPTModel:
    \"\"\"Megatron's GPT.\"\"\"

    def __init__(self, layers):
        self.layers = layers

    def forward(self, x, config: Config = None):
        LOG.append("megatron.GPTModel.forward")
        return x * self.layers


def build(layers):
    return GPTModel(layers)
"""

SOFTMAX = """
from megatron.calls import LOG


class ScaledSoftmax:
    @staticmethod
    def apply(x, scale):
        LOG.append("megatron.ScaledSoftmax")
        return x * scale
"""

LLM_GPT = """
import math

from megatron.calls import LOG
from megatron.core import Config
from megatron.core.models import GPTModel as MegatronGPTModel
from mindspeed_llm.util import twice

DEPTH = 2


class GPTModel(MegatronGPTModel):
    \"\"\"MindSpeed-LLM's GPT: twice the depth.\"\"\"

    kind = "llm"

    def __init__(self, layers):
        super().__init__(layers * DEPTH)

    # the annotation is read when the class is defined: Megatron's package re-exports what its file imports
    def forward(self, x, config: Config = None):
        LOG.append("llm.GPTModel.forward")
        return twice(MegatronGPTModel.forward(self, x)) + math.floor(0.5)
"""

MINDSPEED_SOFTMAX = """
from megatron.calls import LOG


class ScaledSoftmax:
    \"\"\"Fused on the NPU.\"\"\"

    @staticmethod
    def apply(x, scale):
        LOG.append("mindspeed.ScaledSoftmax")
        if scale < 0:
            raise ValueError("negative scale")
        return x * scale + 1
"""

LEGACY_FUSED = """

class FusedSoftmax:
    @staticmethod
    def apply(x, scale):
        LOG.append("legacy.FusedSoftmax")
        return x - scale
"""

SCENARIO = """
from megatron.calls import attempt


def run():
    from megatron.core import models, softmax
    from megatron.legacy import softmax as legacy
    from megatron.core.models import gpt_model
    from mindspeed_llm import gpt
    model = gpt_model.build(3)
    return [
        model.forward(2), type(model).__name__, [c.__name__ for c in type(model).__mro__], model.layers,
        getattr(model, "kind", None), models.GPTModel is gpt_model.GPTModel, gpt.GPTModel is gpt_model.GPTModel,
        softmax.ScaledSoftmax.apply(2, 3), attempt(softmax.ScaledSoftmax.apply, 2, -1),
        softmax.ScaledSoftmax.__doc__, type(softmax.ScaledSoftmax.__dict__["apply"]).__name__,
        type(model).forward.__annotations__["config"].__qualname__,
        legacy.ScaledSoftmax.apply(5, 2), legacy.ScaledSoftmax is softmax.ScaledSoftmax,
        legacy.FusedSoftmax.apply(4, 3), legacy.FusedSoftmax is softmax.ScaledSoftmax, legacy.FusedSoftmax.__name__,
        gpt.MegatronGPTModel is gpt.GPTModel,
    ]
"""


def _scenario() -> Scenario:
    return Scenario(
        "classes in source",
        {
            "Megatron-LM/megatron/core/__init__.py": "from megatron.core.config import Config\n",
            "Megatron-LM/megatron/core/config.py": "class Config:\n    pass\n",
            "Megatron-LM/megatron/core/models/__init__.py": "from megatron.core.models.gpt_model import GPTModel\n",
            "Megatron-LM/megatron/core/models/gpt_model.py": GPT_MODEL,
            "Megatron-LM/megatron/core/softmax.py": SOFTMAX,
            "Megatron-LM/megatron/legacy/__init__.py": "",
            "Megatron-LM/megatron/legacy/softmax.py": (
                SOFTMAX.replace('"megatron.Scaled', '"legacy.Scaled') + LEGACY_FUSED
            ),
            "MindSpeed-LLM/mindspeed_llm/gpt.py": LLM_GPT,
            "MindSpeed-LLM/mindspeed_llm/util.py": "def twice(x):\n    return 2 * x\n",
            "MindSpeed/mindspeed/softmax.py": MINDSPEED_SOFTMAX,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        {
            "megatron.core.models.gpt_model.GPTModel": [{"patch_import": "mindspeed_llm.gpt.GPTModel"}],
            "megatron.core.softmax.ScaledSoftmax": [{"patch_import": "mindspeed.softmax.ScaledSoftmax"}],
            # the same class for a second target: it moves once, the other module imports it
            "megatron.legacy.softmax.ScaledSoftmax": [{"patch_import": "mindspeed.softmax.ScaledSoftmax"}],
            # and for a class of another name: the runtime binds the one class to both names
            "megatron.legacy.softmax.FusedSoftmax": [{"patch_import": "mindspeed.softmax.ScaledSoftmax"}],
        },
    )


def test_classes_replaced_by_classes_are_fused_in_source_and_run_like_the_runtime(tmp_path):
    (outcome,) = compare(tmp_path, _scenario())
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    assert {p["strategy"] for p in report["patches"]} == {"in-source"}, report["patches"]
    assert "llm.GPTModel.forward" in outcome["calls"] and "mindspeed.ScaledSoftmax" in outcome["calls"]


def test_a_moved_class_reads_as_code_in_the_megatron_file(tmp_path):
    pristine, fused = build(tmp_path, _scenario())
    text = (fused / "Megatron-LM/megatron/core/models/gpt_model.py").read_text()
    # the original stays (the patch subclasses it), the patch's alias is bound to it, then the patch's class
    assert text.index("class GPTModel:") < text.index("MegatronGPTModel = GPTModel") < text.index(
        "class GPTModel(MegatronGPTModel):"
    )
    assert "# patchmerge: megatron.core.models.gpt_model.GPTModel replaced by mindspeed_llm.gpt.GPTModel (" in text
    softmax = (fused / "Megatron-LM/megatron/core/softmax.py").read_text()
    assert softmax.count("class ScaledSoftmax") == 1 and "Fused on the NPU." in softmax  # the original left
    legacy = (fused / "Megatron-LM/megatron/legacy/softmax.py").read_text()
    assert "class ScaledSoftmax" not in legacy and "from megatron.core.softmax import ScaledSoftmax" in legacy
    patch_module = (fused / "MindSpeed-LLM/mindspeed_llm/gpt.py").read_text()
    assert "from megatron.core.models.gpt_model import GPTModel" in patch_module and "class " not in patch_module


def test_a_replaced_class_whose_members_are_patched_too_stays_with_the_runtime(tmp_path):
    """The runtime patches `GPTModel.forward` on whichever class `GPTModel` is when that Patch applies (the
    replacement, which has its own forward, or the original): no fused tree can say which, so the class and
    its members are not fused, their registrations stay active, and the report says why."""
    scenario = _scenario()
    scenario.patches = {
        **scenario.patches,
        "megatron.core.models.gpt_model.GPTModel.forward": [{"patch_import": "mindspeed.softmax.forward"}],
    }
    scenario.files = {**scenario.files, "MindSpeed/mindspeed/softmax.py": MINDSPEED_SOFTMAX + (
        "\n\ndef forward(self, x, config=None):\n    return -x\n"
    )}
    try:
        build(tmp_path, scenario)
    except AssertionError as exc:  # the harness insists on everything fused: here two are left on purpose
        assert "not fused" in str(exc)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    outcome = {p["id"]: (p["outcome"], p["reason"] or "") for p in report["patches"]}
    for pid in ("megatron.core.models.gpt_model.GPTModel#0", "megatron.core.models.gpt_model.GPTModel.forward#0"):
        assert outcome[pid][0] == "failed" and "stay runtime patches" in outcome[pid][1], outcome[pid]
    assert outcome["megatron.core.softmax.ScaledSoftmax#0"][0] == "fused"
    adaptor = (tmp_path / "fused/MindSpeed-LLM/mindspeed_llm/adaptor.py").read_text()
    assert "MegatronAdaptation.register('megatron.core.models.gpt_model.GPTModel', patch_0)" in adaptor


def test_a_moved_class_probes_name_its_patch(tmp_path):
    import os
    import subprocess
    import sys

    _, fused = build(tmp_path, _scenario())
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join(str(fused / r) for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM"))
    done = subprocess.run([sys.executable, "-c", "import megatron.core.softmax"], env=env, capture_output=True,
                          text=True, timeout=60)
    (line,) = [line for line in done.stderr.splitlines() if "ScaledSoftmax#0" in line and "core.softmax" in line]
    probe = json.loads(line.split(" ", 1)[1])
    assert probe["patch_import"] == "mindspeed.softmax.ScaledSoftmax" and probe["condition"] == ""
