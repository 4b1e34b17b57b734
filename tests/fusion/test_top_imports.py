"""What a module's top-level imports bind: the local name, what it holds, and the import of just that name."""

from __future__ import annotations

import ast

from patchmerge.fusion.top_imports import top_level_imports


def test_each_kind_of_top_level_import_binds_what_python_binds():
    module = ast.parse(
        "import os\nimport os.path\nimport xml.dom as dom\nfrom json import loads, dumps as to_json\n"
        "from . import sibling\n\ndef f():\n    import inner\n"
    )
    found = {(item.local, item.dotted, item.statement) for item in top_level_imports(module)}
    assert found == {
        ("os", "os", "import os"),
        ("os", "os", "import os.path"),  # binds the package, and loads os.path
        ("dom", "xml.dom", "import xml.dom as dom"),
        ("loads", "json.loads", "from json import loads"),
        ("to_json", "json.dumps", "from json import dumps as to_json"),
    }  # a relative import and one inside a function bind nothing the module's top can name this way
    for item in top_level_imports(module):
        namespace: dict = {}
        exec(item.statement, namespace)
        assert item.local in namespace
