"""Moving a def: whether its destination already binds a name by the same import, read with `ast` without a
scope analysis, agrees with what libcst's scope analysis of the whole module finds."""

from __future__ import annotations

import pytest

from patchmerge.fusion.insource.carry import ImportLine
from patchmerge.fusion.insource.module_info import ModuleInfo
from patchmerge.fusion.insource.moving import _imports_binding, bound_alike

DESTINATIONS = [
    "import torch\n",
    "import torch.nn\n",
    "import torch.nn as nn\nimport os as torch\n",
    "from megatron.core import torch\n",
    "from .core import torch\n",
    "from ..core import torch\n",
    "from . import torch\n",
    "from .core import torch\nfrom megatron.pkg.core import torch\n",
    "from megatron.core import torch\nfrom megatron.other import torch\n",
    "try:\n    from megatron.core import torch\nexcept ImportError:\n    torch = None\n",
    "if TYPE_CHECKING:\n    from megatron.core import torch\n",
    "from megatron.core import *\n",
    "from megatron.core import x as torch, torch as y\n",
    "def torch():\n    pass\n",
    "class C:\n    from megatron.core import torch\n",
]
LINES = [
    ImportLine("torch"),
    ImportLine("torch.nn"),
    ImportLine("os", None, "torch"),
    ImportLine("megatron.core", "torch"),
    ImportLine("megatron.pkg.core", "torch"),
    ImportLine("megatron.pkg", "torch"),
    ImportLine("megatron.core", "x", "torch"),
]


@pytest.mark.parametrize("text", DESTINATIONS)
def test_the_imports_read_without_the_analysis_are_those_it_finds(text):
    for is_package in (False, True):
        quick = ModuleInfo.parse("megatron.pkg.mod", text, is_package)
        analysed = ModuleInfo.parse("megatron.pkg.mod", text, is_package)
        assert [bound_alike(quick, line) for line in LINES] == [
            bool(found) and all(theirs == line for theirs in found)
            for line in LINES
            for found in [_imports_binding(analysed, line.bound)]
        ]
        assert quick._global is None  # answered from the statements: no scope analysis ran


def test_a_name_declared_global_in_a_def_is_read_by_the_analysis():
    info = ModuleInfo.parse("m", "import torch\n\ndef f():\n    global torch\n    torch = 1\n")
    assert not bound_alike(info, ImportLine("torch"))  # the def rebinds it: not only the import binds it
    assert info._global is not None
