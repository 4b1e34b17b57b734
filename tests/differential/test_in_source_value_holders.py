"""Who else holds a module value the runtime would rebind, and what the merge does about it. A value rebound once
at the end of its module is faithful only where every other module holding it under that name imports it from
there after the module ran and reads it only when called. Each scenario below breaks that in one way the source
shows (a star importer loaded in a cycle or reading the name as it loads, a `global` in another module's def, a
loop or `with` target, `:=`, `globals()[...]`, an importer calling a def of its own that reads it, a module reading
`module.name` as it loads): the binding stays deferred, which rebinds every holder at run time, and runs like the
runtime. Where the difference lies outside the tree (a library module the value comes from, None held by modules
the merge does not read), the report notes it. Compared with runtime patching in every way a run may use the tree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.differential.harness import Scenario, compare

SORTING = """
from megatron.calls import LOG


def sort_v2(chunks):
    LOG.append("mindspeed.sort_v2")
    return sorted(chunks)
"""

# the patch module imports the holder: loaded with the patches, the runtime rebinds what it holds
SORTING_WITH = "from megatron.core import {holder}  # noqa: F401\n" + SORTING

BLOCK = """
try:
    from fastsort_missing import fused_sort
except ImportError:
    fused_sort = None
"""

USE = "\n\ndef use(x):\n    return fused_sort(x) if fused_sort is not None else list(x)\n"

PATCH = {"megatron.core.block.fused_sort": [{"patch_import": "mindspeed.sorting.sort_v2"}]}


def _report(fused: Path) -> dict[str, dict[str, object]]:
    report = json.loads((fused / ".patchmerge/report/report.json").read_text())
    return {p["id"]: p for p in report["patches"]}


def _held(tmp_path: Path, name: str, holder: str, source: str, **scenario: object) -> dict[str, object]:
    files = {
        "Megatron-LM/megatron/core/__init__.py": "",
        "Megatron-LM/megatron/core/block.py": BLOCK,
        f"Megatron-LM/megatron/core/{holder}.py": source,
        "MindSpeed/mindspeed/sorting.py": SORTING_WITH.format(holder=holder),
        "MindSpeed-LLM/scenario.py": (
            f"def run():\n    from megatron.core import block, {holder}\n"
            f"    return [{holder}.use([3, 1, 2]), block.fused_sort([2, 1]) if block.fused_sort else None]\n"
        ),
    }
    compare(tmp_path, Scenario(name, files, PATCH, **scenario))  # type: ignore[arg-type]
    return _report(tmp_path / "fused")["megatron.core.block.fused_sort#0"]


HOLDERS = {
    "global in a def it calls": "def _setup():\n    global fused_sort\n    fused_sort = None\n\n\n_setup()\n" + USE,
    "a loop target": "for fused_sort in [None]:\n    pass\n" + USE,
    "a with target": "import contextlib\n\nwith contextlib.nullcontext() as fused_sort:\n    pass\n" + USE,
    "a walrus": "if (fused_sort := None) is None:\n    pass\n" + USE,
    "globals()": "globals()['fused_sort'] = None\n" + USE,
    "an annotated None": "from typing import Callable, Optional\n\nfused_sort: Optional[Callable] = None\n" + USE,
}


@pytest.mark.parametrize("how", sorted(HOLDERS))
def test_a_module_holding_the_same_none_by_itself_keeps_the_binding_deferred(tmp_path, how):
    patch = _held(tmp_path, how, "other", HOLDERS[how])
    assert patch["strategy"] == "deferred"
    assert "megatron.core.other binds fused_sort" in str(patch["strategy_reason"])


def test_a_star_importer_loaded_while_the_module_loads_keeps_the_binding_deferred(tmp_path):
    files = {
        "Megatron-LM/megatron/core/__init__.py": "",
        "Megatron-LM/megatron/core/block.py": BLOCK + "\nfrom megatron.core import star_user  # noqa: E402,F401\n",
        "Megatron-LM/megatron/core/star_user.py": "from megatron.core.block import *  # noqa: F403\n" + USE,
        "MindSpeed/mindspeed/sorting.py": SORTING,
        "MindSpeed-LLM/scenario.py": (
            "def run():\n    from megatron.core import star_user\n    return star_user.use([3, 1])\n"
        ),
    }
    compare(tmp_path, Scenario("a star importer in a cycle", files, PATCH))
    patch = _report(tmp_path / "fused")["megatron.core.block.fused_sort#0"]
    assert patch["strategy"] == "deferred" and "star_user imports fused_sort" in str(patch["strategy_reason"])


@pytest.mark.parametrize("source, why", [
    ("from megatron.core.block import *  # noqa: F403\n\nAT_LOAD = fused_sort  # noqa: F405\n" + USE,
     "reads megatron.core.block.fused_sort as it loads"),
    ("from megatron.core.block import fused_sort\n\n\ndef available():\n    return fused_sort is not None\n\n\n"
     "HAVE_SORT = available()\n" + USE, "megatron.core.reader reads fused_sort as it loads (line 8)"),
    ("from megatron.core import block\n\nAT_LOAD = block.fused_sort\n\n\ndef use(x):\n"
     "    return block.fused_sort(x) if block.fused_sort is not None else list(x)\n",
     "reads megatron.core.block.fused_sort as it loads"),
], ids=["a star importer", "an importer through a def it calls", "through the module"])
def test_a_module_reading_the_value_as_it_loads_keeps_the_binding_deferred(tmp_path, source, why):
    patch = _held(tmp_path, "read as it loads", "reader", source)
    assert patch["strategy"] == "deferred" and why in str(patch["strategy_reason"])


def test_a_value_a_library_module_holds_under_its_name_is_rebound_in_source_and_noted(tmp_path):
    """`ops = grouped_gemm.ops`: the runtime rebinds the library's `ops` too; the fused tree cannot."""
    files = {
        "Megatron-LM/megatron/core/__init__.py": "",
        "Megatron-LM/megatron/core/block.py": "import json\n\ndecoder = json.decoder\n",
        "MindSpeed/mindspeed/dec.py": "class Decoder:\n    pass\n",
        "MindSpeed-LLM/scenario.py": (
            "def run():\n    import json\n    from megatron.core import block\n    from mindspeed import dec\n"
            "    return [block.decoder is dec.Decoder, 'json.decoder', json.decoder is dec.Decoder]\n"
        ),
    }
    note = ("megatron.core.block.decoder#0", "json, outside the source roots", "'json.decoder', True",
            "'json.decoder', False")
    compare(tmp_path, Scenario("a library's value", files, {"megatron.core.block.decoder": [
        {"patch_import": "mindspeed.dec.Decoder"}]}, noted=(note,)))
    patch = _report(tmp_path / "fused")["megatron.core.block.decoder#0"]
    assert patch["strategy"] == "in-source"
    assert any("takes decoder from json, outside the source roots" in n for n in patch["notes"])  # type: ignore


def test_none_held_by_a_module_the_merge_does_not_read_is_noted(tmp_path):
    """The runtime rebinds every loaded module holding None under the name, a script's module among them."""
    files = {
        "Megatron-LM/megatron/core/__init__.py": "",
        "Megatron-LM/megatron/core/block.py": BLOCK,
        "MindSpeed-LLM/legacy_helpers.py": "fused_sort = None\n",
        "MindSpeed/mindspeed/sorting.py": "import legacy_helpers  # noqa: F401\n" + SORTING,
        "MindSpeed-LLM/scenario.py": (
            "def run():\n    import legacy_helpers\n    from megatron.core import block\n"
            "    return [block.fused_sort([2, 1]), 'script', legacy_helpers.fused_sort is None]\n"
        ),
    }
    note = ("megatron.core.block.fused_sort#0", "holding None under that name", "'script', False", "'script', True")
    compare(tmp_path, Scenario("None held outside the packages read", files, PATCH, noted=(note,)))
    patch = _report(tmp_path / "fused")["megatron.core.block.fused_sort#0"]
    assert patch["strategy"] == "in-source"


def test_an_importer_loaded_through_a_def_the_module_calls_as_it_loads_is_a_known_gap(tmp_path):
    """Imports inside a def that the module calls as it loads are not followed (the import graph reads
    module-level imports): the importer gets the original there, and the fused tree keeps it."""
    files = {
        "Megatron-LM/megatron/core/__init__.py": "",
        "Megatron-LM/megatron/core/block.py": BLOCK + "\nfrom megatron.core import registry  # noqa: E402\n\n"
                                               "registry.load()\n",
        "Megatron-LM/megatron/core/registry.py": "def load():\n    import megatron.core.user  # noqa: F401\n",
        "Megatron-LM/megatron/core/user.py": "from megatron.core.block import fused_sort\n" + USE,
        "MindSpeed/mindspeed/sorting.py": SORTING,
        "MindSpeed-LLM/scenario.py": "def run():\n    from megatron.core import user\n    return user.use([3, 1, 2])\n",
    }
    why = "an import in a def the module calls as it loads is not read: its importer keeps the original"
    compare(tmp_path, Scenario("an importer loaded through a call", files, PATCH,
                               known_broken=dict.fromkeys(("plain", "adaptor", "patch_first", "args_after"), why)))
