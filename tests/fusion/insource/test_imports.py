"""The imports a merge adds are written exactly as libcst's AddImportsVisitor writes them (it only walks less)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, ImportItem

from patchmerge.fusion.insource.imports import add_imports

MODULES = [
    "",
    '"""Doc."""\n',
    '"""Doc."""\nfrom __future__ import annotations\n\nimport os\nfrom torch import nn\n\nX = 1\n',
    "__strict__ = True\nimport os\n",
    "# comment\nimport torch\nfrom megatron.core import parallel_state, tensor_parallel\n\n\ndef f():\n"
    "    from megatron.core import parallel_state\n    return parallel_state\n",
    "try:\n    import apex\nexcept ImportError:\n    apex = None\nfrom megatron.core import mpu\n",
    "from .utils import helper\nfrom megatron.core.transformer import TransformerConfig as Config\n"
    "import megatron._patchmerge as _patchmerge\n\nclass A:\n    import os\n",
    "import os; import sys\nfrom megatron.core import *\nY = 2\nfrom megatron.training import get_args\n",
]

ITEMS = [
    [ImportItem("megatron._patchmerge", None, "_patchmerge")],
    [ImportItem("megatron.core", "parallel_state"), ImportItem("megatron.core", "utils", "_utils")],
    [ImportItem("os"), ImportItem("torch", "nn"), ImportItem("megatron.core.transformer", "TransformerConfig")],
    [ImportItem("megatron.training", "get_args"), ImportItem("megatron.core", "mpu"), ImportItem("functools")],
]


def _libcst(module: cst.Module, items: list[ImportItem]) -> str:
    context = CodemodContext()
    for item in items:
        AddImportsVisitor.add_needed_import(context, item.module, item.obj_name, item.alias)
    return AddImportsVisitor(context).transform_module(module).code


@pytest.mark.parametrize("text", MODULES)
@pytest.mark.parametrize("items", ITEMS)
def test_added_imports_are_written_as_libcst_writes_them(text, items):
    module = cst.parse_module(textwrap.dedent(text))
    assert add_imports(module, items).code == _libcst(module, items)


def test_no_import_leaves_the_module_as_it_is():
    module = cst.parse_module("import os\n")
    assert add_imports(module, []) is module


def test_the_visitor_has_no_matcher_decorated_method_for_its_empty_dir_to_hide():
    """`add_imports`' visitor shows libcst an empty `dir()`, which is faithful only while no method of it carries
    a matcher decorator (`@m.visit`, `@m.leave`, `@m.call_if_inside`...): those leave attributes on the function."""
    from patchmerge.fusion.insource.imports import _TopLevelImports

    plain = AddImportsVisitor(CodemodContext())  # constructed with the whole `dir()` scan
    assert plain._extra_visit_funcs == {} and plain._extra_leave_funcs == {}
    for name in dir(_TopLevelImports):
        function = getattr(getattr(_TopLevelImports, name), "__func__", getattr(_TopLevelImports, name))
        decorations = [attr for attr in vars(function) if "matcher" in attr] if hasattr(function, "__dict__") else []
        assert not decorations, f"{name} carries {decorations}"
