"""What a module's own code does with a name as the module loads, read from its source."""

from __future__ import annotations

import ast
import textwrap

import pytest

from patchmerge.fusion.load_reads import read_as_it_loads, unindexed_binding


def _tree(text: str) -> ast.Module:
    return ast.parse(textwrap.dedent(text))


@pytest.mark.parametrize("text, line", [
    ("from m import ops\n\n\ndef use():\n    return ops\n", None),  # only when called
    ("from m import ops\n\nOPS = ops\n", 3),
    ("from m import ops\n\n\ndef available():\n    return ops is not None\n\n\nHAVE = available()\n", 8),
    ("from m import ops\n\n\ndef f(x=ops):\n    return x\n", 4),  # a default is read when the def runs
    ("from m import ops\n\n\nclass C:\n    kind = ops\n\n    def g(self):\n        return ops\n", 5),
    ("from m import ops\n\nf = lambda: ops\n", None),
])
def test_a_read_as_the_module_loads_is_found_where_it_runs(text, line):
    assert read_as_it_loads(_tree(text), "ops") == line


@pytest.mark.parametrize("text, line", [
    ("ops = None\n", None),  # the index records it
    ("def setup():\n    global ops\n    ops = None\n", 2),
    ("for ops in [None]:\n    pass\n", 1),
    ("import contextlib\n\nwith contextlib.nullcontext() as ops:\n    pass\n", 3),
    ("try:\n    pass\nexcept ImportError as ops:\n    pass\n", 3),
    ("if (ops := None) is None:\n    pass\n", 1),
    ("globals()['ops'] = None\n", 1),
    ("def f():\n    for ops in []:\n        pass\n", None),  # a local of the def
    ("class C:\n    for ops in []:\n        pass\n", None),  # the class's own attribute
])
def test_a_module_global_bound_where_the_index_does_not_look_is_found(text, line):
    assert unindexed_binding(_tree(text), "ops") == line
