"""On every module of megatron-core 0.8.0, the imports a merge adds are written as libcst's AddImportsVisitor
writes them."""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, ImportItem

from patchmerge.fusion.insource.imports import add_imports

ITEMS = [
    ImportItem("megatron._patchmerge", None, "_patchmerge"),
    ImportItem("megatron.core", "parallel_state"),
    ImportItem("torch", "nn"),
    ImportItem("megatron.core.transformer.transformer_config", "TransformerConfig", "_Config"),
    ImportItem("functools"),
]


def test_added_imports_on_megatron_core_match_libcst(pristine_root):
    files = sorted((pristine_root / "Megatron-LM" / "megatron" / "core").rglob("*.py"))
    assert len(files) > 150
    for path in files:
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        context = CodemodContext()
        for item in ITEMS:
            AddImportsVisitor.add_needed_import(context, item.module, item.obj_name, item.alias)
        expected = AddImportsVisitor(context).transform_module(module).code
        assert add_imports(module, ITEMS).code == expected, path
