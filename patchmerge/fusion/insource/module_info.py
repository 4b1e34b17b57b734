"""A module read for in-source writing: parsed once with libcst, asked which names it binds and what the code a
move reads refers to.

libcst's scope analysis is the costly part of a merge, and most questions are about the module's top level, so
it runs on a skeleton of the module (see `ModuleInfo`)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import Assignment, BuiltinAssignment, GlobalScope, MetadataWrapper, Scope, ScopeProvider

from patchmerge.fusion.insource.module_state import declared_global
from patchmerge.fusion.insource.walk import subtree_ids
from patchmerge.source.bindings import binders


@dataclass
class Scopes:
    """One scope analysis: the scope of each node it saw, and the module's global scope."""

    of: dict[cst.CSTNode, Scope | None]
    global_scope: GlobalScope


@dataclass
class ModuleInfo:
    """A parsed module, asked many questions. Scope analysis is the costly part of a merge, and most questions
    are about the module's top level, so it runs on a skeleton: each top-level def and class body that binds no
    global name is cut to `...`, which changes no global binding. The code a move reads is analysed whole, in a
    skeleton of its own (`scopes_for`)."""

    name: str  # dotted
    is_package: bool
    module: cst.Module
    text: str = ""
    _whole: frozenset[int] = frozenset()  # ids of the top-level statements that bind names with global/nonlocal
    wanted: frozenset[str] = frozenset()  # top-level defs moves will read: analysed whole in the shared analysis
    _rebound: frozenset[str] = frozenset()
    _global: Scopes | None = None
    _for_node: dict[int, Scopes] = field(default_factory=dict)
    _tree: ast.Module | None = None
    _top_binders: dict[str, list[ast.AST]] | None = None  # None where `binds` asks the scope analysis (see there)
    _top_read: bool = False

    @classmethod
    def parse(cls, name: str, text: str, is_package: bool = False, wanted: frozenset[str] = frozenset()) -> ModuleInfo:
        module = cst.parse_module(text)
        whole, rebound, tree = _global_declarations(module, text)
        ids = frozenset(id(statement) for statement, binds in zip(module.body, whole, strict=True) if binds)
        return cls(name, is_package, module, text, ids, wanted, frozenset(rebound), _tree=tree)

    @property
    def tree(self) -> ast.Module:
        """The module read with `ast`, for questions a walk of its whole text answers."""
        if self._tree is None:
            self._tree = ast.parse(self.text)
        return self._tree

    @property
    def rebound(self) -> frozenset[str]:
        """Names a `global` statement anywhere in the module rebinds at run time."""
        return self._rebound

    @property
    def global_scope(self) -> GlobalScope:
        return self._shared().global_scope

    def _shared(self) -> Scopes:
        if self._global is None:
            self._global = self._analyse(None)
        return self._global

    def scopes_for(self, node: cst.CSTNode) -> Scopes:
        """A scope analysis that sees all of the top-level statement `node` (a def or class of this module)."""
        if self._kept_whole(node, None):
            return self._shared()
        if id(node) not in self._for_node:
            self._for_node[id(node)] = self._analyse(node)
        return self._for_node[id(node)]

    def _kept_whole(self, statement: cst.CSTNode, keep: cst.CSTNode | None) -> bool:
        if statement is keep or not isinstance(statement, cst.FunctionDef | cst.ClassDef):
            return True
        if statement.name.value in self.wanted:
            return True
        return id(statement) in self._whole

    def _analyse(self, keep: cst.CSTNode | None) -> Scopes:
        body: list[cst.BaseStatement] = []
        for statement in self.module.body:
            if self._kept_whole(statement, keep):
                body.append(statement)
            else:
                stub = cst.IndentedBlock([cst.SimpleStatementLine([cst.Expr(cst.Ellipsis())])])
                body.append(statement.with_changes(body=stub))
        wrapper = MetadataWrapper(self.module.with_changes(body=body), unsafe_skip_copy=True)
        scopes = dict(wrapper.resolve(ScopeProvider))
        scope = scopes[wrapper.module]
        assert isinstance(scope, GlobalScope)
        return Scopes(scopes, scope)

    def state_bound_in(self, node: cst.CSTNode) -> set[str]:
        """Module-level names that code inside `node` binds through `global` (assigns or imports, not only
        declares)."""
        declared = declared_global(node) if self.rebound else set()
        if not declared:
            return set()
        inside = subtree_ids(node)
        return {name for name in declared if any(id(a.node) in inside for a in self.global_scope.assignments[name])}

    def top_level_def(self, name: str) -> cst.FunctionDef | None:
        found = [s for s in self.module.body if isinstance(s, cst.FunctionDef) and s.name.value == name]
        return found[0] if len(found) == 1 else None

    def top_level_class(self, name: str) -> cst.ClassDef | None:
        found = [s for s in self.module.body if isinstance(s, cst.ClassDef) and s.name.value == name]
        return found[0] if len(found) == 1 else None

    def global_bindings(self, name: str) -> list[Assignment | BuiltinAssignment]:
        return [a for a in self.global_scope.assignments[name] if not isinstance(a, BuiltinAssignment)]

    def binds(self, name: str) -> bool:
        """Whether the module binds `name` at its top, as `global_bindings` finds (an import or assignment in
        any block, `if TYPE_CHECKING:` too), read with `ast` where it can be (see `top_binders`)."""
        found = self.top_binders(name)
        return bool(self.global_bindings(name)) if found is None else bool(found)

    def top_binders(self, name: str) -> list[ast.AST] | None:
        """The `ast` nodes that bind `name` at the module's top (see `source.bindings.binders`), where they tell
        what `global_bindings` finds: not once a scope analysis ran (it answers), where code in a def declares
        the name global, or where the module binds names in ways that reading does not follow as libcst does (a
        walrus, a match statement, `except E as name`). None there."""
        if not self._top_read:
            self._top_binders, self._top_read = _plain_top_binders(self.tree), True
        found = self._top_binders
        if self._global is not None or name in self.rebound or found is None or f" {name}" in found:
            return None
        return found.get(name, [])


def _plain_top_binders(tree: ast.Module) -> dict[str, list[ast.AST]] | None:
    """The nodes binding each name at the module's top, or None where one may bind in a way `binders` does not
    read as libcst's scope analysis does: a walrus (in a default, a decorator, a comprehension) or a match
    statement anywhere. The name of an `except E as name` at the module's level is keyed with a leading space:
    `binds` asks the scope analysis about it."""
    if any(isinstance(node, ast.NamedExpr | ast.Match) for node in ast.walk(tree)):
        return None
    found: dict[str, list[ast.AST]] = {}
    for statement in tree.body:
        for name, node in binders(statement):
            found.setdefault(name, []).append(node)
    todo: list[ast.stmt] = list(tree.body)
    while todo:  # the statements that run at the module's level, not in defs or classes
        statement = todo.pop()
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for handler in getattr(statement, "handlers", ()):
            if handler.name is not None:
                found.setdefault(f" {handler.name}", []).append(handler)
            todo.extend(handler.body)
        for block in ("body", "orelse", "finalbody"):
            todo.extend(getattr(statement, block, ()))
    return found


def _global_declarations(module: cst.Module, text: str) -> tuple[list[bool], set[str], ast.Module | None]:
    """For each top-level statement of `module`, whether code in it declares a name global or nonlocal; the
    names declared global anywhere; and the module read with `ast` where it was. Read with `ast`, which walks a
    module many times faster than a libcst visitor; without it (or if the two disagree on the statements) every
    statement counts as declaring."""
    keep_all = [True] * len(module.body)
    if "global" not in text and "nonlocal" not in text:
        return [False] * len(module.body), set(), None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return keep_all, declared_global(module), None
    whole: list[bool] = []
    statements = iter(tree.body)
    for statement in module.body:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        found = [next(statements, None) for _ in range(count)]
        if any(item is None for item in found):
            return keep_all, declared_global(module), tree
        kinds = {cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef), cst.ClassDef: (ast.ClassDef,)}
        expected = kinds.get(type(statement))
        if expected is not None and not isinstance(found[0], expected):
            return keep_all, declared_global(module), tree
        whole.append(any(isinstance(n, ast.Global | ast.Nonlocal) for item in found for n in ast.walk(item)))
    names = {name for n in ast.walk(tree) if isinstance(n, ast.Global) for name in n.names}
    return whole, names, tree

