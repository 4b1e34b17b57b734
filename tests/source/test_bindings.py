"""Which names a module-level statement binds, against the compiler's own symbol table."""

from __future__ import annotations

import ast
import symtable

import pytest

from patchmerge.source.bindings import (
    Guard,
    bound_at_run_time,
    guarded_statements,
    imported_when_loaded,
    is_main_guard,
    is_type_checking,
    last_binding,
    names_bound,
    target_names,
)

STATEMENTS = [
    "x = 1",
    "a, (b, *c) = f()",
    "x.attr = 1",
    "x[0] = 1",
    "x += 1",
    "y: int = 2",
    "import os.path",
    "import os.path as p",
    "from m import a, b as c",
    "def f(p=1):\n    q = 2\n    global g\n    g = 3",
    "class C:\n    z = 1",
    "for i, j in pairs:\n    k = i",
    "with open(f) as h:\n    pass",
    "try:\n    import fast\nexcept ImportError:\n    fast = None",
    "if flag:\n    u = 1\nelse:\n    v = 2",
    "[w for w in range(3)]",
    "fn = lambda r: r",
    "print(m := 5)",
]


def _compiler_binds(text: str) -> set[str]:
    table = symtable.symtable(text, "<statement>", "exec")
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}


@pytest.mark.parametrize("text", STATEMENTS)
def test_the_names_a_statement_binds_are_the_compilers(text):
    (statement,) = ast.parse(text).body
    assert names_bound(statement) == _compiler_binds(text)


def test_a_walrus_in_a_comprehension_binds_in_the_module():
    # symtable lists `n` in the module without its assigned flag; running the statement binds it there
    text = "[(n := w) for w in range(3)]"
    namespace: dict[str, object] = {}
    exec(text, namespace)
    assert "n" in namespace and "w" not in namespace
    assert names_bound(ast.parse(text).body[0]) == {"n"}


def test_an_assignment_targets_names():
    (statement,) = ast.parse("a, (b, *c), d.e, f[0] = x").body
    assert isinstance(statement, ast.Assign)
    assert list(target_names(statement.targets[0])) == ["a", "b", "c"]


def test_the_guards_that_never_run_on_import():
    assert is_main_guard(ast.parse("__name__ == '__main__'", mode="eval").body)
    assert not is_main_guard(ast.parse("__name__ == 'x'", mode="eval").body)
    assert is_type_checking(ast.parse("TYPE_CHECKING", mode="eval").body)
    assert is_type_checking(ast.parse("typing.TYPE_CHECKING", mode="eval").body)
    assert not is_type_checking(ast.parse("MY_TYPE_CHECKING", mode="eval").body)


MODULE = """
import os
if TYPE_CHECKING:
    import typing_only
else:
    fallback = 1
try:
    import fast
except ImportError:
    fast = None
else:
    ok = True
finally:
    done = True
for item in items:
    seen = item
with lock:
    held = 1
if __name__ == "__main__":
    main()
"""


def test_the_statements_a_module_runs_at_its_level_with_the_blocks_around_them():
    found = [(ast.unparse(st), guards) for st, guards in guarded_statements(ast.parse(MODULE).body)]
    assert found == [
        ("import os", ()),
        ("fallback = 1", (Guard("else", 3),)),
        ("import fast", (Guard("try", 7),)),
        ("fast = None", (Guard("except", 7),)),
        ("ok = True", (Guard("try", 7),)),
        ("done = True", ()),
        ("seen = item", ()),
        ("held = 1", ()),
    ]


def test_the_last_binding_wins_but_a_handler_does_not_override_an_earlier_one():
    def handler(name: str) -> bool:
        return name.startswith("h")

    assert last_binding(["a", "h", "c"], handler) == ("c", ["h", "a"])
    assert last_binding(["a", "h"], handler) == ("a", ["h"])
    assert last_binding(["h1", "b"], handler) == ("b", ["h1"])
    assert last_binding(["h1", "h2"], handler) == ("h2", ["h1"])  # in one handler, run in order
    assert last_binding(["a", "h1", "h2"], handler) == ("a", ["h1", "h2"])
    assert last_binding([], handler) == (None, [])


def test_what_a_module_surely_imports_and_binds_when_it_runs():
    tree = ast.parse(
        "import torch.nn.functional as F\nfrom functools import partial\nfrom . import sibling\n"
        "try:\n    import yaml\nexcept ImportError:\n    yaml = None\n"
        "if TYPE_CHECKING:\n    import torch\nif __name__ == '__main__':\n    import json\n"
        "def f():\n    import os\n"
        "with suppress(ImportError):\n    import optlib\nfor _ in ():\n    import re\n"
    )
    assert imported_when_loaded(tree) == {"torch", "torch.nn", "torch.nn.functional", "functools"}
    assert not bound_at_run_time(tree, "torch")  # only under TYPE_CHECKING
    assert bound_at_run_time(tree, "F") and bound_at_run_time(tree, "yaml") and not bound_at_run_time(tree, "json")
