"""Static resolution of dotted names to definitions, mirroring what the runtime patcher does:
`importlib.import_module(longest importable prefix)`, then `getattr` down the rest — read from source only."""

from __future__ import annotations

import builtins
from dataclasses import replace
from pathlib import Path

from patchmerge.formats.records import strip_quotes
from patchmerge.model import Definition, DefKind, Unresolved
from patchmerge.resolution.fail import Fail
from patchmerge.resolution.members import ClassMembers
from patchmerge.resolution.scan import ImportSite, TreeScan
from patchmerge.source.index import Binding, BindKind, ClassInfo, ModuleIndex, select_binding
from patchmerge.source.tree import SourceError, SourceTree

__all__ = ["Fail", "ImportSite", "StaticResolver"]

# decorators that keep a function's __name__ (anything else may not, which matters for the wrapper rule)
NAME_KEEPING = {"staticmethod", "classmethod", "property", "abstractmethod", "abstractproperty", "dataclass",
                "cached_property", "setter", "getter", "deleter", "override", "final"}


class StaticResolver:
    """Resolves dotted names by reading the tree's source with `ast`; never imports the code. Its parts: this
    object walks names (modules, imports, assignments), `members` answers what a class has, and `scan` answers
    tree-wide questions (who imports or subclasses a name) for fidelity notes."""

    def __init__(self, tree: SourceTree) -> None:
        self.tree = tree
        self._resolved: dict[str, Definition | Fail] = {}
        self._attrs: dict[tuple[str, str], Definition | None | Fail] = {}
        self._active: set[tuple[str, str]] = set()  # lookups in progress, to stop import cycles
        self._active_values: set[tuple[str, str]] = set()  # `x = y` followings in progress
        self._external: dict[tuple[str, str], str] = {}  # (module, name) bound from outside -> origin dotted
        self.values: dict[tuple[str, str], Definition] = {}  # (module, qualname) of `x = y` -> y's definition
        self.members = ClassMembers(self)
        self.scan = TreeScan(self)

    # -- public --------------------------------------------------------------------------------------

    def resolve(self, dotted: str) -> Definition:
        dotted = strip_quotes(dotted)
        hit = self._resolved.get(dotted)
        if hit is None:
            try:
                hit = self._resolve(dotted)
            except Fail as exc:
                hit = exc
            self._resolved[dotted] = hit
        if isinstance(hit, Fail):
            raise Unresolved(dotted, str(hit))
        return hit

    # -- core ------------------------------------------------------------------------------------------

    def _resolve(self, dotted: str) -> Definition:
        parts = dotted.split(".")
        if not dotted or not all(p.isidentifier() for p in parts):
            raise Fail(f"not a dotted Python name: {dotted!r}")
        k = 0
        while k < len(parts) and self.tree.exists(".".join(parts[: k + 1])):
            k += 1
        if k == 0:
            raise Fail(f"no module '{parts[0]}' under source roots {self.tree.describe_roots()}")
        module = ".".join(parts[:k])
        rest = parts[k:]
        found = self.walk(self._module_def(module), rest)
        notes = list(found.notes)
        notes += [f"decorator @{d} may change __name__" for d in found.decorators if not self._keeps_name(d)]
        if len(rest) > 2 and found.kind is not DefKind.MODULE:
            # MindSpeed's Patch.parse_path getattr()s only one level below the module, then looks the last
            # name up on that object: a deeper target is not what the runtime patch would reach.
            notes.append(f"the runtime patcher (Patch.parse_path) looks '{rest[-1]}' up on "
                         f"{module}.{rest[0]}, not on {'.'.join([module, *rest[:-1]])}")
        return replace(found, dotted=dotted, notes=tuple(dict.fromkeys(notes)))

    @staticmethod
    def _keeps_name(decorator: str) -> bool:
        return decorator.split("(")[0].rsplit(".", 1)[-1] in NAME_KEEPING

    def walk(self, current: Definition, rest: list[str]) -> Definition:
        """getattr() down `rest` from `current`, keeping the re-export hops and binding notes."""
        via = list(current.via)
        notes = list(current.notes)
        path = current.dotted
        for j, part in enumerate(rest):
            last = j == len(rest) - 1
            alias = self.values.get((current.module, current.qualname))
            if current.kind is DefKind.VARIABLE and alias is not None and alias.kind in (DefKind.CLASS,
                                                                                          DefKind.MODULE):
                # `Impl = SomeClass`: getattr(Impl, x) is SomeClass.x
                via.append(f"{current.module}.{current.qualname}")
                current = alias
            if current.kind is DefKind.MODULE:
                found = self.module_attr(current.module, part)
                if found is None:
                    if not last:
                        raise Fail(f"module {current.module} has no name '{part}' (and no submodule of that name)")
                    found = self._missing_in_module(current.module, part)
            elif current.kind is DefKind.CLASS:
                found = self.members.member(current, part, last)
            else:
                origin = self._external.get((current.module, current.qualname))
                if origin:
                    what = f"bound by import from {origin.rpartition('.')[0] or origin}"
                else:
                    what = "; ".join([f"{current.file}:{current.line}", *current.notes])
                raise Fail(f"{path} is a {current.kind} ({what}); its member '{part}' cannot be read from source")
            via += found.via
            notes += found.notes
            path = f"{path}.{part}"
            current = found
        return replace(current, via=tuple(dict.fromkeys(via)), notes=tuple(dict.fromkeys(notes)))

    def index(self, module: str) -> ModuleIndex:
        try:
            idx = self.tree.module_index(module)
        except SourceError as exc:
            raise Fail(f"cannot parse {self.tree.relative(exc.path)}: {exc.message}") from exc
        if idx is None:
            raise Fail(f"no module '{module}' under source roots {self.tree.describe_roots()}")
        return idx

    def _rel(self, path: Path | None) -> Path | None:
        return self.tree.relative(path)

    def _module_def(self, module: str) -> Definition:
        return Definition(dotted=module, kind=DefKind.MODULE, module=module, qualname="",
                          file=self._rel(self.tree.module_file(module)), name=module.rpartition(".")[2])

    def _missing_in_module(self, module: str, name: str) -> Definition:
        idx = self.index(module)
        notes = ["not defined in source: the patch creates it"]
        if any(b.kind is BindKind.STAR and not self.tree.exists(idx.absolute(b.level, b.source))
               for b in idx.bindings):
            notes.append("the module star-imports from outside the source roots, which may bind it")
        return Definition(dotted=f"{module}.{name}", kind=DefKind.MISSING, module=module, qualname=name,
                          file=self._rel(idx.file), name=name, notes=tuple(notes))

    def module_attr(self, module: str, name: str) -> Definition | None:
        """What `getattr(module, name)` is after the module ran (a bound name, else a submodule), or None."""
        key = (module, name)
        if key in self._attrs:
            hit = self._attrs[key]
            if isinstance(hit, Fail):
                raise hit
            return hit
        if key in self._active:
            raise Fail(f"import cycle while looking up {module}.{name}")
        self._active.add(key)
        try:
            result: Definition | None | Fail = self._lookup(module, name)
        except Fail as exc:
            result = exc
        finally:
            self._active.discard(key)
        self._attrs[key] = result
        if isinstance(result, Fail):
            raise result
        return result

    def _lookup(self, module: str, name: str) -> Definition | None:
        idx = self.index(module)
        winner, others = select_binding(idx.bindings, idx.candidates(name), lambda b: self.star_provides(idx, b, name))
        if winner is None:
            sub = f"{module}.{name}"
            return self._module_def(sub) if self.tree.exists(sub) else None
        notes = self.guard_notes(winner, others, name)
        # a try-body import that the source itself cannot satisfy falls back to what the handler binds
        fallbacks = [b for b in reversed(others) if b.in_handler and self._same_try(winner, b)]
        error: Fail | None = None
        for b in [winner, *fallbacks]:
            try:
                found = self.follow(idx, b, name)
            except Fail as exc:
                error = error or exc
                continue
            if b is not winner:
                notes.append(f"the try-body binding cannot be resolved ({error}); using the except handler's")
            return replace(found, notes=tuple(notes) + found.notes)
        assert error is not None
        raise error

    @staticmethod
    def _same_try(winner: Binding, other: Binding) -> bool:
        tries = {g.line for g in winner.guards if g.kind == "try"}
        return any(g.kind == "except" and g.line in tries for g in other.guards)

    def guard_notes(self, winner: Binding, others: list[Binding], name: str) -> list[str]:
        notes: list[str] = []
        for guard in winner.guards:
            if guard.kind == "try":
                alts = [f"{b.text} (line {b.line})" for b in others if self._same_try(winner, b)]
                earlier = [b for b in others if b.line < guard.line]
                fallback = "; ".join(alts) or (f"{earlier[-1].text} (line {earlier[-1].line}) stays"
                                               if earlier else f"{name} stays unbound")
                notes.append(f"{name} is bound in a try block (line {guard.line}) by `{winner.text}` "
                             f"(line {winner.line}); if that fails: {fallback}")
            elif guard.kind in ("if", "else"):
                alts = [f"`{b.text}` (line {b.line})" for b in others]
                where = "under" if guard.kind == "if" else "in the else branch of"
                notes.append(f"{name} is bound {where} the if at line {guard.line} by `{winner.text}` (line "
                             f"{winner.line})" + (f"; other bindings: {', '.join(alts)}" if alts else ""))
            elif guard.kind == "except":
                notes.append(f"{name} is bound only in an except handler (line {winner.line}): `{winner.text}`")
        return notes

    def star_provides(self, idx: ModuleIndex, star: Binding, name: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether `from <star source> import *` binds `name`: its literal __all__, else its public names."""
        source = idx.absolute(star.level, star.source)
        if source in seen or not self.tree.exists(source):
            return False  # a star cycle, or outside the source roots (unknowable, and not ours to patch)
        try:
            sidx = self.index(source)
        except Fail:
            return False
        if sidx.summary.all_names is not None:
            return name in sidx.summary.all_names
        if name.startswith("_"):
            return False
        return name in sidx.names() or any(
            b.kind is BindKind.STAR and self.star_provides(sidx, b, name, seen | {source}) for b in sidx.bindings)

    def follow(self, idx: ModuleIndex, b: Binding, name: str) -> Definition:
        """The definition a module-level binding leads to, following imports into the tree."""
        here = f"{idx.module}.{name}"
        file = self._rel(idx.file)
        common = dict(dotted=here, module=idx.module, qualname=name, file=file, line=b.line)
        if b.kind is BindKind.DEF:
            return Definition(kind=DefKind.FUNCTION, name=b.def_name, decorators=b.decorators, **common)
        if b.kind is BindKind.CLASS:
            return Definition(kind=DefKind.CLASS, name=b.def_name, decorators=b.decorators, **common)
        if b.kind is BindKind.ASSIGN:
            return self.variable(idx, b, name, idx.module, name, None)
        if b.kind is BindKind.IMPORT:
            if self.tree.exists(b.source):
                target = self._module_def(b.source)
                return replace(target, via=(here, *target.via))
            self._external[(idx.module, name)] = b.source
            return Definition(kind=DefKind.VARIABLE, name=name, notes=(f"bound by import of module {b.source}",),
                              **common)
        try:
            source = idx.absolute(b.level, b.source)
        except ValueError as exc:
            raise Fail(str(exc)) from exc
        attr = b.attr if b.kind is BindKind.FROM else name
        if self.tree.exists(source):
            if source == idx.module:  # `from . import sub` in a package's own __init__: the submodule
                target = self._module_def(f"{source}.{attr}") if self.tree.exists(f"{source}.{attr}") else None
            else:
                target = self.module_attr(source, attr)
            if target is None:
                raise Fail(f"{here} is imported from {source} (line {b.line}), which has no name '{attr}'")
            return replace(target, via=(here, *target.via))
        self._external[(idx.module, name)] = f"{source}.{attr}"
        return Definition(kind=DefKind.VARIABLE, name=attr, notes=(f"bound by import from {source}",), **common)

    def variable(self, idx: ModuleIndex, b: Binding, name: str, module: str, qualname: str,
                  owner: str | None, cls: ClassInfo | None = None) -> Definition:
        """An assignment; `x = y` takes y's __name__ (so the wrapper rule sees what the runtime sees)."""
        notes: list[str] = []
        obj_name = name
        if b.value:
            target = self._value_def(idx, b.value, cls, owner, b.line)
            if target is not None:
                self.values[(module, qualname)] = target
                obj_name = target.name or obj_name
                notes.append(f"assigned from {b.value} ({target.module}.{target.qualname or target.module})")
        return Definition(dotted=f"{module}.{qualname}", kind=DefKind.VARIABLE, module=module, qualname=qualname,
                          file=self._rel(idx.file), line=b.line, name=obj_name, notes=tuple(notes),
                          owner_class=owner)

    def _value_def(
        self, idx: ModuleIndex, value: str, cls: ClassInfo | None, owner: str | None, line: int = 0
    ) -> Definition | None:
        head, *rest = value.split(".")
        key = (idx.module, f"{owner}.{value}" if owner else value)
        if key in self._active_values:
            return None  # `x = x` or a cycle of such assignments
        self._active_values.add(key)
        try:
            start: Definition | None = None
            if cls is not None and owner is not None and any(m.name == head for m in cls.members):
                owner_def = Definition(dotted=f"{idx.module}.{owner}", kind=DefKind.CLASS, module=idx.module,
                                       qualname=owner, file=self._rel(idx.file))
                start = self.members.member(owner_def, head, last=True)
            else:
                start = self._as_of(idx, head, line) or self.module_attr(idx.module, head)
            return self.walk(start, rest) if start is not None else None
        except Fail:
            return None
        finally:
            self._active_values.discard(key)

    def _as_of(self, idx: ModuleIndex, name: str, line: int) -> Definition | None:
        """What a module-level `x = name` at `line` reads when the module rebinds `name` further down
        (`_first = f` then `f = g`): the binding made before that line, as top-level code runs in order."""
        own = idx.candidates(name)
        earlier = [i for i in own if idx.bindings[i].line < line]
        if not earlier or not any(idx.bindings[i].line > line for i in own):
            return None
        winner, _ = select_binding(idx.bindings, earlier, lambda b: self.star_provides(idx, b, name))
        return self.follow(idx, winner, name) if winner is not None else None

    def resolve_in(self, module: str, text: str) -> Definition | str:
        """Resolve a dotted expression as written in `module` (e.g. a base class). Returns the definition,
        or the dotted origin when it comes from outside the source roots (e.g. "torch.nn.Module")."""
        head, *rest = text.split(".")
        start = self.module_attr(module, head)
        if start is None:
            if hasattr(builtins, head):
                return ".".join(["builtins", head, *rest])
            raise Fail(f"name '{head}' is not bound in module {module}")
        current = start
        for j, part in enumerate(rest):
            origin = self._external.get((current.module, current.qualname))
            if origin is not None and current.kind is DefKind.VARIABLE:
                return ".".join([origin, *rest[j:]])
            current = self.walk(current, [part])
        origin = self._external.get((current.module, current.qualname))
        if origin is not None and current.kind is DefKind.VARIABLE:
            return origin
        if current.kind is DefKind.VARIABLE and (value := self.values.get((current.module, current.qualname))):
            return value  # `Base = SomeClass` used as a base: the class it holds
        return current
