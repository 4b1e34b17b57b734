"""Module names and relative imports, against Python's own resolver (`importlib.util.resolve_name`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from patchmerge.source.modules import absolute_module, module_of_path, package_of

PACKAGES = ["", "a", "a.b", "a.b.c"]
IMPORTS = [(level, module) for level in range(5) for module in (None, "x", "x.y")]


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize(("level", "module"), IMPORTS)
def test_a_relative_import_names_the_module_python_imports(package, level, module):
    if level == 0 and module is None:
        assert absolute_module(package, module, level) is None  # `from import x` is no statement
        return
    try:
        expected = importlib.util.resolve_name("." * level + (module or ""), package or None)
    except (ImportError, ValueError):
        expected = None  # beyond the top-level package, or no package
    assert absolute_module(package, module, level) == expected


def test_a_packages_init_is_its_own_package():
    assert package_of("a.b", is_package=True) == "a.b"
    assert package_of("a.b", is_package=False) == "a"
    assert package_of("a", is_package=False) == ""


@pytest.mark.parametrize(
    ("path", "roots", "module"),
    [
        ("Megatron-LM/megatron/core/utils.py", ("Megatron-LM", "MindSpeed"), "megatron.core.utils"),
        ("MindSpeed/mindspeed/__init__.py", ("Megatron-LM", "MindSpeed"), "mindspeed"),
        ("src/MindSpeed-LLM/mindspeed_llm/x.py", ("src", "src/MindSpeed-LLM"), "mindspeed_llm.x"),
        ("pretrain_gpt.py", ("Megatron-LM",), "pretrain_gpt"),  # read from ROOT_DIR
        ("Megatron-LM/tools/my-tool/run.py", ("Megatron-LM",), None),  # not an identifier
        ("Megatron-LM/megatron/core/data.json", ("Megatron-LM",), None),
    ],
)
def test_a_files_module(path, roots, module):
    assert module_of_path(Path(path), roots) == module
