"""A module read for in-source writing: whether it binds a name at its top, read with `ast` without a scope
analysis, agrees with libcst's scope analysis of the whole module."""

from __future__ import annotations

import pytest

from patchmerge.fusion.insource.module_info import ModuleInfo

MODULES = [
    "import torch\n",
    "import torch.nn\n",
    "import torch.nn as nn\n",
    "from x import torch\n",
    "from x import y as torch\n",
    "try:\n    import torch\nexcept ImportError:\n    torch = None\n",
    "if TYPE_CHECKING:\n    import torch\n",
    "def f():\n    global torch\n    import torch\n",
    "def f():\n    global torch\n",
    "def f():\n    import torch\n",
    "class C:\n    import torch\n",
    "[torch for torch in range(3)]\n",
    "for torch in range(3):\n    pass\n",
    "with open('f') as torch:\n    pass\n",
    "del torch\n",
    "torch: int\n",
    "torch: int = 1\n",
    "def torch():\n    pass\n",
    "x = lambda torch: torch\n",
    '"""doc, global torch"""\nimport os\n',
    # where libcst's analysis and a reading of the statements part, the analysis answers
    "try:\n    pass\nexcept ImportError as torch:\n    pass\n",
    "try:\n    import torch\nexcept ImportError as error:\n    pass\n",
    "def f(x=(torch := 1)):\n    pass\n",
    "@(torch := deco)\ndef f():\n    pass\n",
    "class C((torch := object)):\n    pass\n",
    "y = lambda x=(torch := 1): x\n",
    "[(torch := i) for i in range(3)]\n",
    "match x:\n    case [torch]:\n        pass\n",
]


@pytest.mark.parametrize("text", MODULES)
def test_whether_a_module_binds_a_name_agrees_with_the_scope_analysis(text):
    quick = ModuleInfo.parse("m", text)
    analysed = ModuleInfo.parse("m", text)
    assert quick.binds("torch") == bool(analysed.global_bindings("torch"))
    plain = not any(mark in text for mark in ("global", ":=", "match", "as torch"))
    assert quick._global is None or not plain  # answered without the analysis where the statements are plain


def test_whether_a_module_binds_a_name_does_not_depend_on_an_analysis_run_before():
    text = "[(torch := i) for i in range(3)]\n"
    fresh, analysed = ModuleInfo.parse("m", text), ModuleInfo.parse("m", text)
    analysed.global_bindings("os")  # any earlier question that runs the analysis
    assert fresh.binds("torch") == analysed.binds("torch")
