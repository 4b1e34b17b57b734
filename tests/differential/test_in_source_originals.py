"""A patch that reads the original it replaces, or another patched def, under a name of its own
(`from megatron.core.ops import scale as megatron_scale`): the runtime rebinds only the holders of the patched
name, so that name stays the original. Compared with runtime patching in every way a run may use the tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.differential.harness import Scenario, compare
from tests.differential.test_in_source_names import ADAPTOR as ADAPTOR_FROM_THE_MODULE
from tests.differential.test_in_source_names import MAPPINGS

MAPPINGS_READ_AT_IMPORT = """
from megatron.calls import LOG


def scatter(x):
    LOG.append("megatron.scatter")
    return x // 2


TABLE = {"scatter": scatter}  # module-level code reads scatter as it loads


def reduce(x):
    return [scatter(x), TABLE["scatter"](x)]
"""

ADAPTOR = """
from megatron.calls import LOG
from megatron.core import scatter as megatron_scatter


def scatter_adaptor(x):
    LOG.append("mindspeed.scatter_adaptor")
    if x > 100:
        return megatron_scatter(x // 100)
    return x * 10
"""

RUN = "def run():\n    from megatron.core import mappings\n    return [mappings.reduce(3), mappings.reduce(300)]\n"
SCATTER = {"megatron.core.mappings.scatter": [{"patch_import": "mindspeed.adaptor.scatter_adaptor"}]}


def _strategies(tmp_path: Path) -> dict[str, tuple[str, str]]:
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    return {p["id"]: (p["strategy"], p["strategy_reason"] or "") for p in report["patches"]}


@pytest.mark.parametrize(
    "through, files",
    [
        ("megatron.core", {"Megatron-LM/megatron/core/__init__.py": "from megatron.core.mappings import scatter\n"}),
        ("megatron.core.comm", {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/comm.py": "from megatron.core.mappings import scatter  # noqa\n",
        }),
    ],
)
def test_a_def_the_module_reads_as_it_loads_whose_patch_reads_the_original_another_way(tmp_path, through, files):
    scenario = Scenario(
        f"the original through {through}, its module reading it as it loads",
        {
            "Megatron-LM/megatron/core/mappings.py": MAPPINGS_READ_AT_IMPORT,
            "MindSpeed/mindspeed/adaptor.py": ADAPTOR.replace("megatron.core import", f"{through} import"),
            "MindSpeed-LLM/scenario.py": RUN,
            **files,
        },
        SCATTER,
    )
    compare(tmp_path, scenario)
    strategy, reason = _strategies(tmp_path)["megatron.core.mappings.scatter#0"]
    assert strategy == "deferred" and "it replaces" in reason


def test_a_package_binding_another_def_of_the_same_name_is_no_re_export(tmp_path):
    scenario = Scenario(
        "the package binds another scatter",
        {
            "Megatron-LM/megatron/core/__init__.py": "from megatron.core.other import scatter\n",
            "Megatron-LM/megatron/core/mappings.py": "from megatron.calls import LOG\n\n\n"
            "def scatter(x):\n    LOG.append('megatron.scatter')\n    return x // 2\n\n\n"
            "def reduce(x):\n    return scatter(x)\n",
            "Megatron-LM/megatron/core/other.py": "def scatter(x):  # another def of that name\n    return -x\n",
            "MindSpeed/mindspeed/adaptor.py": ADAPTOR,
            "MindSpeed-LLM/scenario.py": RUN,
        },
        SCATTER,
    )
    compare(tmp_path, scenario)
    assert _strategies(tmp_path)["megatron.core.mappings.scatter#0"] == ("in-source", "")
    assert "megatron_scatter =" not in (tmp_path / "fused/Megatron-LM/megatron/core/mappings.py").read_text()


OPS = """
from megatron.calls import LOG


def scale(x):
    LOG.append("megatron.scale")
    return x * 2


def shift(x):
    LOG.append("megatron.shift")
    return x + 5


def caller(x):
    return scale(x) + 1
"""

TWO_ALIASES = """
from megatron.calls import LOG
from megatron.core.ops import scale as megatron_scale, shift as megatron_shift


def scale(x):
    LOG.append("mindspeed.scale")
    return megatron_scale(x) + 1


def shift(x):
    LOG.append("mindspeed.shift")
    return megatron_shift(x) * 100


def helper(x):  # stays in the patch module: reads the original by its alias
    return megatron_scale(x)
"""


def test_two_originals_one_import_statement_names_under_aliases(tmp_path):
    scenario = Scenario(
        "two replacements whose originals one statement imports under aliases",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed/mindspeed/patches.py": TWO_ALIASES,
            "MindSpeed-LLM/scenario.py": "def run():\n    from megatron.core import ops\n"
            "    from mindspeed import patches\n    return [ops.scale(2), ops.shift(3), patches.helper(4)]\n",
        },
        {
            "megatron.core.ops.scale": [{"patch_import": "mindspeed.patches.scale"}],
            "megatron.core.ops.shift": [{"patch_import": "mindspeed.patches.shift"}],
        },
    )
    compare(tmp_path, scenario)
    patches = (tmp_path / "fused/MindSpeed/mindspeed/patches.py").read_text()
    assert "from megatron.core.ops import megatron_scale, megatron_shift\n" in patches


SHARED_ALIAS = """
from megatron.calls import LOG
from megatron.core.ops import scale as megatron_scale


def scale(x):
    LOG.append("mindspeed.scale")
    return megatron_scale(x) + 1


def caller(x):
    LOG.append("mindspeed.caller")
    return megatron_scale(x) * 100
"""


def test_another_patch_reading_a_patched_def_under_a_name_of_its_own(tmp_path):
    scenario = Scenario(
        "another moved patch reads the patched def by an alias",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/ops.py": OPS,
            "MindSpeed/mindspeed/patches.py": SHARED_ALIAS,
            "MindSpeed-LLM/scenario.py": "def run():\n    from megatron.core import ops\n"
            "    return [ops.caller(2), ops.scale(3)]\n",
        },
        {
            "megatron.core.ops.scale": [{"patch_import": "mindspeed.patches.scale"}],
            "megatron.core.ops.caller": [{"patch_import": "mindspeed.patches.caller"}],
        },
    )
    compare(tmp_path, scenario)
    strategy, reason = _strategies(tmp_path)["megatron.core.ops.caller#0"]
    assert strategy == "deferred" and "which the runtime leaves the original" in reason


# the same patches, reading the originals through the package's re-export
ADAPTOR_THROUGH_THE_PACKAGE = (
    ADAPTOR_FROM_THE_MODULE.replace(
        "from megatron.core.mappings import gather as megatron_gather\nfrom megatron.core import mappings\n",
        "from megatron.core import gather as megatron_gather\nfrom megatron.core import scatter as megatron_scatter\n",
    )
    .replace("  # through the module: the patch itself, at run time as in source", "")
    .replace("mappings.scatter(x // 100)", "megatron_scatter(x // 100)")
)


def _through(tmp_path, name: str, files: dict[str, str], adaptor: str) -> dict[str, tuple[str, str]]:
    """Compare a tree whose patch module reads the originals as `adaptor` imports them; the report's strategies."""
    scenario = Scenario(
        name,
        {
            "Megatron-LM/megatron/core/mappings.py": MAPPINGS,
            "MindSpeed/mindspeed/adaptor.py": adaptor,
            "MindSpeed-LLM/scenario.py": """
def run():
    from megatron.core import mappings
    return [mappings.reduce(3), mappings.reduce(4), mappings.reduce(300), mappings.gather.__name__]
""",
            **files,
        },
        {
            "megatron.core.mappings.gather": [
                {"patch_import": "mindspeed.adaptor.gather_adaptor", "condition": ["args.unaligned"]}
            ],
            "megatron.core.mappings.scatter": [{"patch_import": "mindspeed.adaptor.scatter_adaptor"}],
        },
    )
    compare(tmp_path, scenario)
    report = json.loads((tmp_path / "fused/.patchmerge/report/report.json").read_text())
    return {p["id"]: (p["strategy"], p["strategy_reason"] or "") for p in report["patches"]}


def test_the_original_read_through_a_package_that_re_exports_it_is_the_original(tmp_path):
    """`from megatron.core import gather as megatron_gather` (the package's `__init__` imports it) names the
    original too (read as the target, the moved code would call itself where the runtime calls the original):
    a branch, and an unconditional replacement, keep it under that name above them."""
    strategies = _through(
        tmp_path,
        "the original read through the package's re-export",
        {"Megatron-LM/megatron/core/__init__.py": "from megatron.core.mappings import gather, scatter\n"},
        ADAPTOR_THROUGH_THE_PACKAGE,
    )
    assert strategies["megatron.core.mappings.gather#0"] == ("in-source", "")
    assert strategies["megatron.core.mappings.scatter#0"] == ("in-source", "")
    fused = (tmp_path / "fused/Megatron-LM/megatron/core/mappings.py").read_text()
    assert "megatron_scatter = scatter  # the original, which the replacement below calls" in fused
    patch = (tmp_path / "fused/MindSpeed/mindspeed/adaptor.py").read_text()
    for alias in ("megatron_gather", "megatron_scatter"):  # from where the original is kept
        assert f"from megatron.core.mappings import {alias}\n" in patch


def test_the_original_read_through_another_module_that_imports_it_is_the_original(tmp_path):
    """`from megatron.core.comm import gather as megatron_gather`, where `comm` imports it from `mappings`, gives
    the original too (the runtime rebinds only holders of the same name): the replacement stays deferred."""
    strategies = _through(
        tmp_path,
        "the original read through another module",
        {
            "Megatron-LM/megatron/core/__init__.py": "",
            "Megatron-LM/megatron/core/comm.py": "from megatron.core.mappings import gather, scatter  # noqa\n",
        },
        ADAPTOR_THROUGH_THE_PACKAGE.replace("from megatron.core import", "from megatron.core.comm import"),
    )
    strategy, reason = strategies["megatron.core.mappings.scatter#0"]
    assert strategy == "deferred" and "reads the original it replaces (megatron.core.comm.scatter)" in reason
