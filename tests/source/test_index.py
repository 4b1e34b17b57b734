"""The per-file ast index: bindings in execution order with their guards, classes, imports, __all__."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from patchmerge.source.index import BindKind, FileSummary, Guard, ImportRec, ModuleIndex, select_binding, summarize


def index(source: str, module: str = "pkg.mod", is_package: bool = False) -> ModuleIndex:
    return ModuleIndex(module, Path("x.py"), is_package, summarize(textwrap.dedent(source).lstrip("\n")))


def test_bindings_in_order_with_kinds() -> None:
    idx = index("""
        import os.path
        import a.b as c
        from .x import y as z
        from m import *
        def f(): pass
        async def g(): pass
        class K: pass
        p, (q, *r) = 1, (2, 3)
        s: int = 1
        t: int
        u += 1
    """)
    got = [(b.kind, b.name) for b in idx.bindings]
    assert got == [
        (BindKind.IMPORT, "os"), (BindKind.IMPORT, "c"), (BindKind.FROM, "z"), (BindKind.STAR, ""),
        (BindKind.DEF, "f"), (BindKind.DEF, "g"), (BindKind.CLASS, "K"),
        (BindKind.ASSIGN, "p"), (BindKind.ASSIGN, "q"), (BindKind.ASSIGN, "r"), (BindKind.ASSIGN, "s"),
        (BindKind.ASSIGN, "u"),  # `t: int` binds nothing
    ]
    imp_os, imp_c, frm = idx.bindings[:3]
    assert (imp_os.source, imp_c.source) == ("os", "a.b")
    assert (frm.level, frm.source, frm.attr, frm.text) == (1, "x", "y", "from .x import y as z")


def test_guards_and_skipped_blocks() -> None:
    idx = index("""
        from typing import TYPE_CHECKING
        try:
            from apex import Fast
        except ImportError:
            Fast = None
        else:
            ok = True
        if TYPE_CHECKING:
            from torch import Tensor
        else:
            Tensor = None
        if __name__ == "__main__":
            main = 1
    """)
    by_name = {(b.name, b.line): b for b in idx.bindings}
    assert by_name[("Fast", 3)].guards == (Guard("try", 2),)
    assert by_name[("Fast", 5)].guards == (Guard("except", 2),) and by_name[("Fast", 5)].in_handler
    assert by_name[("ok", 7)].guards == (Guard("try", 2),)
    tensor = [b for b in idx.bindings if b.name == "Tensor"]
    assert [(b.line, b.guards) for b in tensor] == [(11, (Guard("else", 8),))]  # only the else branch binds
    assert "main" not in idx.names()


def test_value_refs_and_text() -> None:
    idx = index("""
        a = b.c
        d = f(1)
        e = None
    """)
    a, d, e = idx.bindings
    assert (a.value, a.text) == ("b.c", "a = b.c")
    assert (d.value, d.text) == (None, "d = f(...)")
    assert e.text == "e = None"


def test_literal_all_dynamic_all_and_augmented() -> None:
    assert index("__all__ = ['a', 'b']\n__all__ += ('c',)\n").summary.all_names == ("a", "b", "c")
    assert index("__all__ = names()\n").summary.all_names is None
    assert index("x = 1\n").summary.all_names is None


def test_imports_anywhere_with_function_flag() -> None:
    idx = index("""
        from a import b as c
        if TYPE_CHECKING:
            from hidden import h
        def f():
            if x:
                from .d import e
        class K:
            def m(self):
                try:
                    from g import *
                except ImportError:
                    pass
    """)
    assert idx.summary.imports == (
        ImportRec(0, "a", "b", "c", 1, False),
        ImportRec(1, "d", "e", None, 6, True),
        ImportRec(0, "g", "*", None, 10, True),
    )


def test_class_info() -> None:
    idx = index("""
        @dataclasses.dataclass(frozen=True, order=True)
        class Config(Base, mixins.M, Generic[T], metaclass=Meta):
            x: int = 1
            y: int
            @property
            def p(self): pass
            class Inner:
                pass
    """)
    info = idx.class_info("Config")
    assert info is not None
    assert info.bases == ("Base", "mixins.M", "Generic")
    assert info.decorators == ("dataclasses.dataclass(frozen=True, order=True)",)
    assert dict(info.dataclass or ()) == {"frozen": True, "order": True}
    assert [m.name for m in info.members] == ["x", "p", "Inner"]
    assert info.members[1].decorators == ("property",)
    assert idx.class_info("Config.Inner") is not None and idx.class_info("Config.nope") is None
    assert [q for q, _ in idx.classes()] == ["Config", "Config.Inner"]
    assert index("class P: pass\n").class_info("P").dataclass is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("module", "is_package", "level", "source", "expected"),
    [
        ("a.b.mod", False, 1, "x", "a.b.x"),
        ("a.b.mod", False, 2, "x", "a.x"),
        ("a.b.mod", False, 1, "", "a.b"),
        ("a.b", True, 1, "x", "a.b.x"),  # in a package's __init__, `.` is the package itself
        ("a.b", True, 2, "", "a"),
        ("a.b", True, 0, "abs.mod", "abs.mod"),
    ],
)
def test_absolute(module: str, is_package: bool, level: int, source: str, expected: str) -> None:
    assert index("", module, is_package).absolute(level, source) == expected


@pytest.mark.parametrize(("module", "is_package", "level"), [("a", False, 1), ("a.b", False, 2), ("a", True, 2)])
def test_relative_import_beyond_top_level(module: str, is_package: bool, level: int) -> None:
    with pytest.raises(ValueError):
        index("", module, is_package).absolute(level, "x")


def test_select_binding_try_body_beats_its_handler() -> None:
    idx = index("""
        try:
            from apex import F
        except ImportError:
            F = None
        G = 1
        G = 2
    """)
    winner, others = select_binding(idx.bindings, idx.candidates("F"), lambda b: False)
    assert winner is not None and winner.kind is BindKind.FROM and [o.line for o in others] == [4]
    winner, others = select_binding(idx.bindings, idx.candidates("G"), lambda b: False)
    assert winner is not None and winner.line == 6 and [o.line for o in others] == [5]


def test_handler_only_binding_still_binds() -> None:
    idx = index("try:\n    import x\nexcept ImportError:\n    y = None\n")
    winner, _ = select_binding(idx.bindings, idx.candidates("y"), lambda b: False)
    assert winner is not None and winner.line == 4


def test_summary_pickles() -> None:
    s = summarize("class A(B):\n    def f(self): pass\n")
    assert pickle.loads(pickle.dumps(s)) == s and isinstance(s, FileSummary)


def test_syntax_error_propagates() -> None:
    with pytest.raises(SyntaxError):
        summarize("def (:\n")


def test_captures_record_names_read_by_import_time_assignments() -> None:
    idx = index("""
        from te import TENorm, wrap
        try:
            LayerNormImpl = TENorm
        except ImportError:
            LayerNormImpl = None
        SPEC = Spec(norm=te.TENorm, other=lambda: Later, default=[n for n in NAMES])
        f = wrap(f)
        __all__ = ["LayerNormImpl"]

        def function():
            inside = TENorm

        class Holder:
            norm = TENorm
    """)
    got = [(c.bound, c.line, c.refs, c.simple) for c in idx.summary.captures]
    assert got == [
        ("LayerNormImpl", 3, ("TENorm",), True),
        ("SPEC", 6, ("Spec", "te.TENorm", "n", "NAMES"), False),  # the lambda body runs later: not read
        ("f", 7, ("wrap", "f"), False),
        ("Holder.norm", 14, ("TENorm",), True),
    ]
    assert idx.summary.captures[0].text == "LayerNormImpl = TENorm"
    assert pickle.loads(pickle.dumps(idx.summary)) == idx.summary
