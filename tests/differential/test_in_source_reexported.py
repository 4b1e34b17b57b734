"""A class a package binds by importing it (`from .gpt_model import GPTModel` in megatron/legacy/model), replaced
by one class: the runtime rebinds the name in every module holding the class under it, the defining module
among them, so in source the class is replaced where it is defined. Where the importing module holds it
otherwise too (`LayerNormImpl = TENorm` keeps the original at runtime), the binding falls back. Compared with
runtime patching in every way a run may use the tree."""

from __future__ import annotations

import json

from tests.differential.harness import Scenario, build, compare

MODEL = """
from megatron.calls import LOG


class Model:
    def __init__(self, n):
        self.n = n

    def forward(self, x):
        LOG.append("megatron.Model.forward")
        return x * self.n
"""

PATCHES = """
from megatron.calls import LOG


class Model:
    \"\"\"MindSpeed's model.\"\"\"

    def __init__(self, n):
        self.n = n + 1

    def forward(self, x):
        LOG.append("mindspeed.Model.forward")
        if x < 0:
            raise ValueError("negative")
        return x - self.n
"""

SCENARIO = """
from megatron.calls import attempt


def run():
    from megatron.legacy import model as package
    from megatron.legacy.model import model
    from megatron.legacy.model import Model
    from megatron import user
    return [Model(2).forward(3), attempt(Model(1).forward, -1), model.Model is Model, package.Model.__doc__,
            user.build(4).forward(1), user.Impl is Model]
"""

USER = """
from megatron.legacy.model import Model

Impl = Model


def build(n):
    return Model(n)
"""


def _scenario(package_init: str) -> Scenario:
    return Scenario(
        "a class a package re-exports",
        {
            "Megatron-LM/megatron/legacy/__init__.py": "",
            "Megatron-LM/megatron/legacy/model/__init__.py": package_init,
            "Megatron-LM/megatron/legacy/model/model.py": MODEL,
            "Megatron-LM/megatron/user.py": USER,
            "MindSpeed/mindspeed/patches.py": PATCHES,
            "MindSpeed-LLM/scenario.py": SCENARIO,
        },
        {"megatron.legacy.model.Model": [{"patch_import": "mindspeed.patches.Model"}]},
    )


def _strategy(fused) -> tuple[str, str]:
    [patch] = json.loads((fused / ".patchmerge/report/report.json").read_text())["patches"]
    return patch["strategy"], patch["strategy_reason"] or ""


def test_a_class_a_package_imports_is_replaced_where_it_is_defined(tmp_path):
    compare(tmp_path, _scenario("from .model import Model\n"))
    assert _strategy(tmp_path / "fused") == ("in-source", "")
    model = (tmp_path / "fused/Megatron-LM/megatron/legacy/model/model.py").read_text()
    assert "# patchmerge: megatron.legacy.model.Model replaced by mindspeed.patches.Model" in model
    assert "MindSpeed's model." in model and "megatron.Model.forward" not in model


def test_a_package_that_holds_the_class_under_another_name_too_falls_back(tmp_path):
    compare(tmp_path, _scenario("from .model import Model\n\nDefault = Model\n"))
    strategy, reason = _strategy(tmp_path / "fused")
    assert strategy == "deferred"
    assert "megatron.legacy.model's module-level code reads Model when it runs" in reason


def test_a_class_imported_under_a_condition_falls_back(tmp_path):
    conditional = "try:\n    from .model import Model\nexcept ImportError:\n    Model = None\n"
    pristine, fused = build(tmp_path, _scenario(conditional))
    reason = "megatron.legacy.model binds Model otherwise than by a plain import at its top"
    assert _strategy(fused) == ("deferred", reason)


def test_a_class_a_package_imports_under_another_name_is_not_replaced_where_it_is_defined(tmp_path):
    """`from .model import Model as Renamed`, target `megatron.legacy.model.Renamed`: the runtime rebinds only
    holders of the name `Renamed`, so `model.Model` stays Megatron's class."""
    scenario = _scenario("from .model import Model as Renamed\n")
    scenario.patches = {"megatron.legacy.model.Renamed": [{"patch_import": "mindspeed.patches.Model"}]}
    scenario.files["MindSpeed-LLM/scenario.py"] = (
        "def run():\n    from megatron.legacy.model import Renamed, model\n"
        "    return [Renamed(2).forward(3), model.Model(2).forward(3), Renamed is model.Model]\n"
    )
    compare(tmp_path, scenario)
    assert _strategy(tmp_path / "fused")[0] == "deferred"
