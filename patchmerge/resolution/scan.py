"""Tree-wide questions over the rewritable packages: who imports a name, who subclasses a class, which
import-time assignments read it.

The first call indexes every module of the rewritable packages (from the disk cache when the tree has one)
and builds reverse maps; later calls are dictionary lookups."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from patchmerge.gc_paused import gc_paused
from patchmerge.model import DefKind, Unresolved
from patchmerge.resolution.fail import Fail
from patchmerge.source.captures import Capture
from patchmerge.source.index import Binding, ModuleIndex, select_binding
from patchmerge.source.tree import SourceError

T = TypeVar("T")

if TYPE_CHECKING:
    from patchmerge.resolution.resolver import StaticResolver

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImportSite:
    """A `from <module> import <name> [as <local_name>]` in a rewritable module."""

    module: str  # the importing module
    local_name: str
    file: Path | None  # relative to the tree root
    line: int
    in_function: bool


@dataclass(frozen=True, slots=True)
class CaptureSite:
    """A module-level or class-body assignment in a rewritable module whose value reads a name on import."""

    module: str
    bound: str  # the name it binds ("Cls.attr" in a class body)
    file: Path | None  # relative to the tree root
    line: int
    text: str  # short source text, e.g. "LayerNormImpl = TENorm"
    simple: bool  # `bound = <the name>` exactly, not an expression using it


@dataclass(frozen=True, slots=True)
class _Rec:
    source: str  # absolute module imported from
    name: str  # name imported ("*" for a star import)
    site: ImportSite


def _unresolved_at_the_boundary(method: Callable[..., T]) -> Callable[..., T]:
    """A tree-wide question answers, or raises Unresolved naming what it asked about: the resolver's internal
    failure does not leave it."""

    @functools.wraps(method)
    def answer(self: TreeScan, module: str, name: str, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, module, name, *args, **kwargs)
        except Fail as exc:
            raise Unresolved(f"{module}.{name}", str(exc)) from None

    return answer


class TreeScan:
    """importers_of / subclasses_of / captures_of over the rewritable packages, for fidelity notes: each
    answers, or raises Unresolved naming what it asked about. Names are resolved by the resolver it belongs
    to."""

    def __init__(self, names: StaticResolver) -> None:
        self.names = names
        self._modules: list[ModuleIndex] | None = None
        self._by_name: dict[str, list[_Rec]] = {}  # imported name -> records (stars under "*")
        self._subclasses: dict[tuple[str, str], list[tuple[str, str]]] | None = None
        # last part of a name read at import time -> (module index, capture, the dotted name read)
        self._captures: dict[str, list[tuple[ModuleIndex, Capture, str]]] = {}
        self._named: dict[str, list[tuple[ModuleIndex, Binding]]] | None = None  # bound name -> where
        self.errors: dict[str, str] = {}  # module -> why it could not be indexed

    def _scan(self) -> list[ModuleIndex]:
        if self._modules is not None:
            return self._modules
        modules: list[ModuleIndex] = []
        names = self.names.tree.rewritable_modules()
        self.names.tree.preload(names)  # parses in parallel what the disk cache lacks; errors resurface below
        with gc_paused():  # a record of every import of the tree, kept for the run
            for name in names:
                self._scan_module(name, modules)
        self._modules = modules
        return modules

    def _scan_module(self, name: str, modules: list[ModuleIndex]) -> None:
        """Index one module of the tree and record its imports and captures."""
        try:
            idx = self.names.tree.module_index(name)
        except SourceError as exc:
            self.errors[name] = exc.message
            log.warning("skipping %s: %s", exc.path, exc.message)
            return
        if idx is None or idx.file is None:
            return
        modules.append(idx)
        file = self.names.tree.relative(idx.file)
        for rec in idx.summary.imports:
            try:
                source = idx.absolute(rec.level, rec.source)
            except ValueError:
                continue
            local = rec.asname or rec.name
            site = ImportSite(idx.module, local, file, rec.line, rec.in_function)
            self._by_name.setdefault(rec.name, []).append(_Rec(source, rec.name, site))
        for cap in idx.summary.captures:
            for ref in cap.refs:
                self._captures.setdefault(ref.rpartition(".")[2], []).append((idx, cap, ref))

    @_unresolved_at_the_boundary
    def importers_of(self, module: str, name: str, *, transitive: bool = False) -> list[ImportSite]:
        """Every rewritable module that binds `name` from `module` (`from module import name [as alias]`, or a
        star import that exports it), function bodies included.

        With `transitive`, every site binding the *same object* by import, from whichever module it is
        imported (re-exports of re-exports, aliases); `module.name` must then resolve.
        """
        self._scan()
        if not transitive:
            sites = [r.site for r in self._by_name.get(name, []) if r.source == module]
            sites += [self._star_site(r, name) for r in self._by_name.get("*", [])
                      if r.source == module and self._exports(module, name)]
            return sorted(set(sites), key=_site_key)

        target = self.names.resolve(f"{module}.{name}")
        key = (target.module, target.qualname)
        names = {name, target.name, target.qualname.rpartition(".")[2]} | {v.rpartition(".")[2] for v in target.via}
        found: set[ImportSite] = set()
        same: dict[tuple[str, str], bool] = {}

        def holds_target(source: str, nm: str) -> bool:
            if (source, nm) not in same:
                try:
                    d = self.names.module_attr(source, nm) if self.names.tree.exists(source) else None
                except Fail:
                    d = None
                same[(source, nm)] = d is not None and (d.module, d.qualname) == key
            return same[(source, nm)]

        pending = set(names)
        while pending:
            nm = pending.pop()
            sites = [r.site for r in self._by_name.get(nm, []) if holds_target(r.source, nm)]
            sites += [self._star_site(r, nm) for r in self._by_name.get("*", [])
                      if self._exports(r.source, nm) and holds_target(r.source, nm)]
            for site in sites:
                found.add(site)
                if site.local_name not in names:
                    names.add(site.local_name)
                    pending.add(site.local_name)
        return sorted(found, key=_site_key)

    def bindings_named(self, name: str) -> list[tuple[ModuleIndex, Binding]]:
        """Every module-level statement of a rewritable module that binds `name` (in `try`/`if` blocks too; star
        imports, which bind what they find, not included), with the module's index."""
        if self._named is None:
            table: dict[str, list[tuple[ModuleIndex, Binding]]] = {}
            for idx in self._scan():
                for binding in idx.bindings:
                    if binding.name:
                        table.setdefault(binding.name, []).append((idx, binding))
            self._named = table
        return self._named.get(name, [])

    def modules(self) -> list[ModuleIndex]:
        """The index of every rewritable module."""
        return self._scan()

    def star_importers(self, name: str) -> list[tuple[ModuleIndex, str]]:
        """Every rewritable module that binds `name` by a module-level star import, with the module it imports
        from (a module that exports the name)."""
        self._scan()
        found = []
        for rec in self._by_name.get("*", []):
            if rec.site.in_function or not self._exports(rec.source, name):
                continue
            idx = self.names.tree.module_index(rec.site.module)
            if idx is not None:
                found.append((idx, rec.source))
        return found

    @_unresolved_at_the_boundary
    def captures_of(self, module: str, name: str) -> list[CaptureSite]:
        """Every module-level or class-body assignment in a rewritable module whose value reads the object
        `module.name` when it runs (under any name the object is imported as): `X = name`, `X = f(name)`,
        `SPEC = Spec(norm=name)`. `module.name` must resolve (else Unresolved)."""
        self._scan()
        target = self.names.resolve(f"{module}.{name}")
        key = (target.module, target.qualname)
        names = {name, target.name, target.qualname.rpartition(".")[2]} | {v.rpartition(".")[2] for v in target.via}
        names |= {site.local_name for site in self.importers_of(module, name, transitive=True)}
        found: set[CaptureSite] = set()
        for nm in names:
            for idx, cap, ref in self._captures.get(nm, []):
                if self._reads(idx, cap.line, ref, key):
                    found.add(CaptureSite(idx.module, cap.bound, self.names.tree.relative(idx.file), cap.line, cap.text,
                                          cap.simple and cap.refs[0] == ref))
        return sorted(found, key=lambda c: (c.module, c.line, c.bound))

    def _reads(self, idx: ModuleIndex, line: int, ref: str, key: tuple[str, str]) -> bool:
        """Whether the dotted name `ref`, read at `line` of module `idx`, is the definition `key`: the name is
        looked up among the bindings made before that line, as the running module would see it."""

        head, *rest = ref.split(".")
        before = [i for i in idx.candidates(head) if idx.bindings[i].line < line]
        winner, _ = select_binding(idx.bindings, before, lambda b: self.names.star_provides(idx, b, head))
        if winner is None:
            return False
        try:
            found = self.names.walk(self.names.follow(idx, winner, head), rest)
        except Fail:
            return False
        if (found.module, found.qualname) == key:
            return True
        value = self.names.values.get((found.module, found.qualname))  # `Impl = Name` read as Impl
        return value is not None and (value.module, value.qualname) == key

    @staticmethod
    def _star_site(rec: _Rec, name: str) -> ImportSite:
        s = rec.site
        return ImportSite(s.module, name, s.file, s.line, s.in_function)

    def _exports(self, module: str, name: str) -> bool:
        if not self.names.tree.exists(module):
            return False
        idx = self.names.index(module)
        if idx.summary.all_names is not None:
            return name in idx.summary.all_names
        return not name.startswith("_") and name in idx.names()

    @_unresolved_at_the_boundary
    def subclasses_of(self, module: str, qualname: str, *,
                      transitive: bool = False) -> list[tuple[str, str]]:
        """(module, class qualname) of the classes in rewritable packages whose bases resolve to the class
        `module.qualname` (itself followed through re-exports first). Direct subclasses unless `transitive`."""

        try:
            target = self.names.resolve(f"{module}.{qualname}")
            key = (target.module, target.qualname) if target.kind is DefKind.CLASS else (module, qualname)
        except Unresolved:  # an unknown class simply has no subclasses to report
            key = (module, qualname)
        if self._subclasses is None:
            table: dict[tuple[str, str], list[tuple[str, str]]] = {}
            for idx in self._scan():
                for qual, info in idx.classes():
                    try:
                        bases = self.names.members.bases(idx.module, info)
                    except Fail:
                        continue
                    for base in bases:
                        if isinstance(base, tuple):
                            table.setdefault(base, []).append((idx.module, qual))
            self._subclasses = table
        result = list(dict.fromkeys(self._subclasses.get(key, [])))
        if transitive:
            i = 0
            while i < len(result):
                result += [c for c in self._subclasses.get(result[i], []) if c not in result]
                i += 1
        return result


def _site_key(site: ImportSite) -> tuple[str, int, str]:
    return (site.module, site.line, site.local_name)
