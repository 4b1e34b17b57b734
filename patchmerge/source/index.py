"""Per-file index built with the stdlib `ast`: what each module binds at top level and in class bodies.

The index is plain picklable data (no AST nodes), built from the file's bytes alone, so it can be cached on
disk by content hash and shared between trees that hold the same file (workspaces, hard-linked copies).
Relative imports are stored as written (level + module) and made absolute by `ModuleIndex`, which knows the
module's name.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchmerge.gc_paused import gc_paused
from patchmerge.source.bindings import Guard, guarded_statements, last_binding, target_names
from patchmerge.source.captures import Capture, capture, dotted
from patchmerge.source.modules import absolute_module, package_of

# bump when the summary layout, or the module of its classes (which pickles name), changes: cached pickles of
# other versions are ignored
INDEX_VERSION = "7"


class BindKind(enum.StrEnum):
    DEF = "def"
    CLASS = "class"
    ASSIGN = "assign"
    IMPORT = "import"  # `import a.b` (binds a -> module a) or `import a.b as c` (binds c -> module a.b)
    FROM = "from"  # `from m import attr as name`
    STAR = "star"  # `from m import *`: binds whatever m exports, decided at lookup time


@dataclass(frozen=True, slots=True)
class Binding:
    kind: BindKind
    name: str  # the local name bound ("" for STAR)
    line: int
    guards: tuple[Guard, ...] = ()
    column: int = 0  # of the statement, which with `line` finds it in a parse of the file
    source: str = ""  # IMPORT/FROM/STAR: the module as written (without leading dots)
    level: int = 0  # FROM/STAR: relative import level
    attr: str = ""  # FROM: the imported name
    value: str | None = None  # ASSIGN: dotted text when the value is a plain name or attribute chain
    text: str = ""  # short source text, for notes
    decorators: tuple[str, ...] = ()
    def_name: str = ""  # DEF/CLASS: the name written after def/class
    cls: ClassInfo | None = None

    @property
    def in_handler(self) -> bool:
        return any(g.kind == "except" for g in self.guards)


@dataclass(frozen=True, slots=True)
class ClassInfo:
    name: str
    line: int
    bases: tuple[str, ...]  # dotted text of each base ("" when the base is not a name / attribute chain)
    decorators: tuple[str, ...]
    dataclass: tuple[tuple[str, object], ...] | None  # @dataclass options (literal keywords), None if not one
    members: tuple[Binding, ...]


@dataclass(frozen=True, slots=True)
class ImportRec:
    """A `from m import name [as alias]` anywhere in the file (function bodies included)."""

    level: int
    source: str
    name: str  # "*" for a star import
    asname: str | None
    line: int
    in_function: bool


@dataclass(frozen=True, slots=True)
class FileSummary:
    bindings: tuple[Binding, ...]  # module-level bindings in execution (source) order
    imports: tuple[ImportRec, ...]
    all_names: tuple[str, ...] | None  # a literal __all__, else None
    captures: tuple[Capture, ...] = ()  # module-level and class-body assignments reading names at import


def _decorator_text(node: ast.expr) -> str:
    return dotted(node) or ast.unparse(node)


def _short(node: ast.expr) -> str:
    """Cheap source text for notes (ast.unparse on every value of 1,500 files would cost)."""
    if isinstance(node, ast.Constant):
        return repr(node.value)[:40]
    name = dotted(node)
    if name:
        return name
    if isinstance(node, ast.Call) and (fn := dotted(node.func)):
        return f"{fn}(...)"
    return f"<{type(node).__name__.lower()}>"


def _dataclass_options(decorators: list[ast.expr]) -> tuple[tuple[str, object], ...] | None:
    for dec in decorators:
        func = dec.func if isinstance(dec, ast.Call) else dec
        if dotted(func) in ("dataclass", "dataclasses.dataclass"):
            if not isinstance(dec, ast.Call):
                return ()
            return tuple(
                (kw.arg, kw.value.value)
                for kw in dec.keywords
                if kw.arg and isinstance(kw.value, ast.Constant)
            )
    return None


def _binding(kind: BindKind, name: str, st: ast.stmt, guards: tuple[Guard, ...], **fields: Any) -> Binding:
    """A binding the statement `st` makes; its line and column find `st` again in a parse of the file."""
    return Binding(kind, name, st.lineno, guards, column=st.col_offset, **fields)


class _Builder:
    def __init__(self) -> None:
        self.imports: list[ImportRec] = []
        self.all_names: list[str] | None = None
        self.all_dynamic = False
        self.captures: list[Capture] = []
        self.scope = ""  # "Outer.Inner." inside class bodies

    def block(self, stmts: Sequence[ast.stmt], outer: tuple[Guard, ...], out: list[Binding], top: bool) -> None:
        """Collect the bindings a statement list makes in its own namespace (module or class body)."""
        for st, guards in guarded_statements(stmts, outer):
            if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decs = tuple(_decorator_text(d) for d in st.decorator_list)
                out.append(_binding(BindKind.DEF, st.name, st, guards, decorators=decs, def_name=st.name,
                                   text=f"def {st.name}"))
                self.function_imports(st.body)
            elif isinstance(st, ast.ClassDef):
                out.append(self.class_binding(st, guards))
            elif isinstance(st, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                self.assignment(st, guards, out, top)
            elif isinstance(st, ast.Import):
                for alias in st.names:
                    if alias.asname:
                        out.append(_binding(BindKind.IMPORT, alias.asname, st, guards, source=alias.name,
                                           text=f"import {alias.name} as {alias.asname}"))
                    else:
                        top_name = alias.name.split(".")[0]
                        out.append(_binding(BindKind.IMPORT, top_name, st, guards, source=top_name,
                                           text=f"import {alias.name}"))
            elif isinstance(st, ast.ImportFrom):
                src = st.module or ""
                prefix = "." * st.level + src
                for alias in st.names:
                    self.imports.append(ImportRec(st.level, src, alias.name, alias.asname, st.lineno, False))
                    if alias.name == "*":
                        out.append(_binding(BindKind.STAR, "", st, guards, source=src, level=st.level,
                                           text=f"from {prefix} import *"))
                        continue
                    local = alias.asname or alias.name
                    text = f"from {prefix} import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                    out.append(_binding(BindKind.FROM, local, st, guards, source=src, level=st.level,
                                       attr=alias.name, text=text))

    def assignment(self, st: ast.Assign | ast.AugAssign | ast.AnnAssign, guards: tuple[Guard, ...],
                   out: list[Binding], top: bool) -> None:
        if isinstance(st, ast.AnnAssign) and st.value is None:
            return  # a bare annotation binds nothing (a dataclass field without default is no class attribute)
        value = st.value
        targets = st.targets if isinstance(st, ast.Assign) else [st.target]
        ref = dotted(value) if not isinstance(st, ast.AugAssign) and len(targets) == 1 and isinstance(
            targets[0], ast.Name) else None
        for target in targets:
            for name in target_names(target):
                out.append(_binding(BindKind.ASSIGN, name, st, guards, value=ref,
                                   text=f"{name} {'+=' if isinstance(st, ast.AugAssign) else '='} {_short(value)}"))
                if top and name == "__all__":
                    self.record_all(value, augment=isinstance(st, ast.AugAssign))
                elif (found := capture(self.scope + name, st.lineno, value, out[-1].text)) is not None:
                    self.captures.append(found)

    def record_all(self, value: ast.expr, augment: bool) -> None:
        names: list[str] = []
        if isinstance(value, (ast.List, ast.Tuple)):
            for elt in value.elts:
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                    names.append(elt.value)
                else:
                    self.all_dynamic = True
        else:
            self.all_dynamic = True
        if augment and self.all_names is not None:
            self.all_names.extend(names)
        else:
            self.all_names = names

    def class_binding(self, st: ast.ClassDef, guards: tuple[Guard, ...]) -> Binding:
        members: list[Binding] = []
        outer, self.scope = self.scope, f"{self.scope}{st.name}."
        self.block(st.body, (), members, top=False)
        self.scope = outer
        bases = []
        for base in st.bases:
            if isinstance(base, ast.Subscript):  # Generic[T], Protocol[...]
                base = base.value
            bases.append(dotted(base) or "")
        info = ClassInfo(
            name=st.name,
            line=st.lineno,
            bases=tuple(bases),
            decorators=tuple(_decorator_text(d) for d in st.decorator_list),
            dataclass=_dataclass_options(st.decorator_list),
            members=tuple(members),
        )
        return _binding(BindKind.CLASS, st.name, st, guards, decorators=info.decorators, def_name=st.name,
                       cls=info, text=f"class {st.name}")

    def function_imports(self, stmts: Sequence[ast.stmt]) -> None:
        """`from m import x` inside functions: they bind at call time, which importers_of reports."""
        for st in stmts:
            if isinstance(st, ast.ImportFrom):
                for alias in st.names:
                    self.imports.append(ImportRec(st.level, st.module or "", alias.name, alias.asname, st.lineno,
                                                  True))
            elif isinstance(st, ast.ClassDef):
                self.function_imports(st.body)
            else:
                for attr in ("body", "orelse", "finalbody"):
                    sub = getattr(st, attr, None)
                    if isinstance(sub, list):
                        self.function_imports(sub)
                for handler in getattr(st, "handlers", ()):
                    self.function_imports(handler.body)
                for case in getattr(st, "cases", ()):
                    self.function_imports(case.body)


def summarize(source: bytes | str, filename: str = "<unknown>") -> FileSummary:
    """Parse one file and index it. Raises SyntaxError / ValueError for unparsable source."""
    return summarize_tree(parse(source, filename))


def parse(source: bytes | str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse`, faster: an AST is a large acyclic graph freed by reference counting, and the cyclic GC only
    slows its construction down (about a third of the parse time on Megatron)."""
    with gc_paused():
        return ast.parse(source, filename=filename)


def summarize_tree(tree: ast.Module) -> FileSummary:
    """The index of a parsed file."""
    builder = _Builder()
    bindings: list[Binding] = []
    builder.block(tree.body, (), bindings, top=True)
    all_names = None if builder.all_dynamic or builder.all_names is None else tuple(builder.all_names)
    return FileSummary(tuple(bindings), tuple(builder.imports), all_names, tuple(builder.captures))


def select_binding(
    bindings: Sequence[Binding], candidates: Sequence[int], provides: Callable[[Binding], bool]
) -> tuple[Binding | None, list[Binding]]:
    """The binding the runtime ends up with, plus the others (see `last_binding`). `provides` decides whether
    a star import binds the name."""
    found = [bindings[i] for i in sorted(candidates)]
    return last_binding([b for b in found if b.kind is not BindKind.STAR or provides(b)], lambda b: b.in_handler)


@dataclass
class ModuleIndex:
    """The summary of one module, with the module's name to make relative imports absolute."""

    module: str
    file: Path | None  # absolute; None for a namespace package
    is_package: bool
    summary: FileSummary
    _by_name: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _stars: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        for i, b in enumerate(self.summary.bindings):
            if b.kind is BindKind.STAR:
                self._stars.append(i)
            else:
                self._by_name.setdefault(b.name, []).append(i)

    @property
    def bindings(self) -> tuple[Binding, ...]:
        return self.summary.bindings

    def candidates(self, name: str) -> list[int]:
        """Indexes of bindings that may bind `name` (its own bindings and every star import)."""
        return self._by_name.get(name, []) + self._stars

    def names(self) -> set[str]:
        return set(self._by_name)

    def absolute(self, level: int, source: str) -> str:
        """The absolute module named by `from <level dots><source> import ...` written in this module."""
        found = absolute_module(package_of(self.module, self.is_package), source, level)
        if found is None:  # Python refuses these too ("beyond top-level package")
            raise ValueError(f"relative import beyond top-level package in {self.module}")
        return found

    def class_info(self, qualname: str) -> ClassInfo | None:
        """A module-level (or nested) class statement by qualname: the last one, preferring those outside
        except handlers (as binding selection does)."""
        scope: Sequence[Binding] = self.summary.bindings
        info: ClassInfo | None = None
        for part in qualname.split("."):
            found = [b for b in scope if b.name == part and b.cls is not None]
            found = [b for b in found if not b.in_handler] or found
            if not found or found[-1].cls is None:
                return None
            info = found[-1].cls
            scope = info.members
        return info

    def classes(self) -> Iterator[tuple[str, ClassInfo]]:
        """Every class defined at module level or nested in one, with its qualname."""
        stack = [("", b) for b in self.summary.bindings if b.cls is not None]
        while stack:
            prefix, b = stack.pop()
            assert b.cls is not None
            qual = f"{prefix}{b.name}"
            yield qual, b.cls
            stack.extend((qual + ".", m) for m in b.cls.members if m.cls is not None)
