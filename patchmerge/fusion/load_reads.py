"""What a module's own code does with a name as the module loads, read from its source text: where it reads the
name (directly, or through a def of its own it calls then), and whether it binds the name in a way the source
index does not record (a `global` in a def, a `for` or `with` target, `:=`, `globals()[...]`)."""

from __future__ import annotations

import ast


def read_as_it_loads(tree: ast.Module, name: str) -> int | None:
    """The first line where a module's own code reads `name` as the module runs: outside function bodies, or in
    the body of one of its own defs that module-level code calls then."""
    readers = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(node))
    }
    reads = _Reads(name, readers)
    reads.visit(tree)
    return min(reads.lines) if reads.lines else None


class _Reads(ast.NodeVisitor):
    def __init__(self, name: str, readers: set[str]) -> None:
        self.name = name
        self.readers = readers  # defs of the module whose bodies read the name
        self.lines: list[int] = []

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == self.name and isinstance(node.ctx, ast.Load):
            self.lines.append(node.lineno)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in self.readers:
            self.lines.append(node.lineno)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for part in [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(part)
        every = (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg)
        for annotation in [a.annotation for a in every if a is not None and a.annotation is not None]:
            self.visit(annotation)
        if node.returns is not None:
            self.visit(node.returns)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for part in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(part)


def unindexed_binding(tree: ast.Module, name: str) -> int | None:
    """The line of a statement that binds `name` as a module global in a way the source index does not record
    (a `global` in a def, `globals()[...]`, and at module level a `for` or `with` target, `except ... as`, `:=`),
    or None."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Global) and name in node.names:
            return node.lineno
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name) and node.value.func.id == "globals"
                and isinstance(node.slice, ast.Constant) and node.slice.value == name):
            return node.lineno
    targets = _ModuleLevelTargets(name)
    targets.visit(tree)
    return min(targets.lines) if targets.lines else None


class _ModuleLevelTargets(ast.NodeVisitor):
    """Names bound at module level by `for`, `with`, `except ... as` and `:=` (not in defs or class bodies)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[int] = []

    def _bound(self, target: ast.AST | None, line: int) -> None:
        if target is not None and any(isinstance(n, ast.Name) and n.id == self.name for n in ast.walk(target)):
            self.lines.append(line)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self._bound(node.target, node.lineno)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self._bound(item.optional_vars, node.lineno)
        self.generic_visit(node)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name == self.name:
            self.lines.append(node.lineno)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bound(node.target, node.lineno)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.AST) -> None:
        return  # its own scope

    visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = visit_FunctionDef
