"""Replaying an import from source: a new import written into a module may run a module from an entry point
it never ran from, and hit a module that is still half initialised."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from patchmerge.fusion.insource.import_graph import ImportGraph

# `legacy` is safe to import once `training` is loaded, and fails when imported first (as in Megatron: its
# package imports a model that imports the training package, whose utils import a name legacy binds later)
TREE = {
    "legacy/__init__.py": "from .model import Model\nfrom .fp16 import Float16Module\n",
    "legacy/model.py": "import training\n\n\nclass Model:\n    pass\n",
    "legacy/fp16.py": "class Float16Module:\n    pass\n",
    "legacy/norm.py": "class Norm:\n    pass\n",
    "training/__init__.py": "from .utils import helper\n",
    "training/utils.py": "from legacy import Float16Module\n\n\ndef helper():\n    return Float16Module\n",
    "core/__init__.py": "from core import ops\n",
    "core/ops.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from legacy import Float16Module\n",
    "guarded.py": "try:\n    import legacy.norm\nexcept ImportError:\n    pass\n",
    "patch.py": "import os\n",
    "patch_after_training.py": "import training\n",
}


def graph_of(tmp_path: Path, tree: dict[str, str]) -> ImportGraph:
    """The import graph of the modules `tree` writes under `tmp_path` (relative file -> text)."""
    for relative, text in tree.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(textwrap.dedent(text))

    def module_file(module: str) -> Path | None:
        base = tmp_path.joinpath(*module.split("."))
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    return ImportGraph(module_file, lambda module: (tmp_path.joinpath(*module.split(".")) / "__init__.py").is_file())


@pytest.fixture
def graph(tmp_path: Path) -> ImportGraph:
    return graph_of(tmp_path, TREE)


def test_an_import_that_runs_a_half_initialised_package_is_named(graph):
    problem = graph.new_import_fails("patch", "legacy.norm")
    assert problem == (
        "training.utils runs `from legacy import Float16Module` while legacy is still being imported, "
        "before it binds Float16Module"
    )


def test_the_same_import_is_safe_where_the_importer_loaded_the_other_entry_first(graph):
    assert graph.new_import_fails("patch_after_training", "legacy.norm") is None


def test_an_import_the_importer_runs_already_is_safe(graph):
    graph.added["patch"] = {"legacy"}  # what this merge made it import already
    assert graph.new_import_fails("patch", "legacy.norm") is None


def test_type_checking_imports_and_submodules_do_not_run(graph):
    assert graph.new_import_fails("patch", "core.ops") is None


def test_a_failure_a_try_catches_does_not_fail_the_import(graph):
    assert graph.new_import_fails("patch", "guarded") is None


def test_a_package_runs_while_a_module_its_init_imports_loads(tmp_path):
    tree = {
        "top/__init__.py": "import core.layers\n",  # runs core.layers, before top.sub is imported
        "top/sub/__init__.py": "from top.sub import consts\n",
        "top/sub/consts.py": "VALUE = 1\n",
        "core/__init__.py": "",
        "core/layers.py": "",
        "core/user.py": "import core.layers\n",
        "core/lazy/__init__.py": "from core import user\n",
    }
    graph = graph_of(tmp_path, tree)
    assert graph.runs_while_loading("top", "core.layers")
    assert graph.runs_while_loading("core.lazy", "core.layers")  # through another module
    # its parent package ran already: what that imports is not the sub-package's doing
    assert not graph.runs_while_loading("top.sub", "core.layers")


LIBRARY_TREE = {
    "core/__init__.py": "",
    "core/plain.py": "import numpy\n",
    "core/feature.py": "import core.plain\nfrom optional_lib.framework import start\n",
    "core/guarded.py": "try:\n    import optional_lib\nexcept ImportError:\n    optional_lib = None\n",
    "core/required.py": (
        "try:\n    import optional_lib\nexcept ImportError:\n    raise ImportError('optional_lib is required')\n"
    ),
    "core/deep.py": "import core.feature\n",
    "patch.py": "import os\n",
    "patch_with_lib.py": "import optional_lib\n",
    "patch_guarding.py": "try:\n    import core.plain_lib\nexcept ImportError:\n    pass\n",
    "core/plain_lib.py": "import optional_lib\n",
    "core/later_raise.py": (
        "import os\ntry:\n    import optional_lib\nexcept ImportError:\n    if os.environ.get('X'):\n        raise\n"
    ),
    "core/first_handler.py": (
        "try:\n    import optional_lib\nexcept ImportError:\n    raise\nexcept Exception:\n    pass\n"
    ),
}


@pytest.fixture
def library_graph(tmp_path: Path) -> ImportGraph:
    return graph_of(tmp_path, LIBRARY_TREE)


def test_an_import_of_a_module_needing_a_library_its_importer_never_needed_may_fail(library_graph):
    problem = library_graph.new_import_fails("patch", "core.feature", installed=frozenset({"numpy"}))
    assert problem == ("importing core.feature imports optional_lib, a library patch does not need and the profile "
                       "does not count as installed (sources.installed, the requirements files)")
    # a handler that raises again (anywhere in it; the first that matches decides) does not make it optional
    for module in ("core.required", "core.later_raise", "core.first_handler"):
        assert "optional_lib" in library_graph.new_import_fails("patch", module, installed=frozenset())
    # what the importer imports under a try that catches the failure does not count as needed by it
    assert "optional_lib" in library_graph.new_import_fails("patch_guarding", "core.feature", installed=frozenset())


@pytest.mark.parametrize(
    ("importer", "module", "installed"),
    [
        ("patch_with_lib", "core.feature", frozenset({"numpy"})),  # the importer needs it already
        ("patch", "core.feature", frozenset({"numpy", "optional_lib"})),  # every machine has it
        ("patch", "core.guarded", frozenset()),  # caught where it is imported
        ("patch", "core.deep", frozenset({"numpy"})),  # only a module on the way imports it: the framework's
        ("patch", "core.feature", None),  # libraries not asked about
    ],
)
def test_an_import_whose_libraries_every_machine_has_cannot_fail(library_graph, importer, module, installed):
    assert library_graph.new_import_fails(importer, module, installed=installed) is None


def test_a_handler_of_missing_modules_only_does_not_stop_a_half_initialised_import(tmp_path):
    tree = dict(TREE)
    tree["training/utils.py"] = (
        "try:\n    from legacy import Float16Module\nexcept ModuleNotFoundError:\n    Float16Module = None\n"
    )
    assert "before it binds Float16Module" in graph_of(tmp_path, tree).new_import_fails("patch", "legacy.norm")
