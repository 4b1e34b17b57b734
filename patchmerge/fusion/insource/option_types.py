"""An option's `type=` that is a function of the adaptor's parser files, carried into the helper.

MindSpeed's `--virtual-optimizer` converts each value with a function it defines beside the call
(`parse_list_for_virtual_optimizer`: 'all' gives 65.0, a number its float, anything else an error). A stdlib
parser of the option needs that conversion, or its value (and its error) would differ. The function is carried
as written, under a name of its own (`type_<digest>`), only where that is certain to be the same function: the
scope the call reads the name from binds it once, by that def, above the call; it takes the value alone; and it
reads nothing but builtins that no scope around it rebinds (and none that reads its module's namespace).
Anything else leaves the option unreadable, as before.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import symtable
import textwrap

Scopes = list[ast.AST] | tuple[ast.AST, ...]  # the module, then each function around the call, innermost last
# builtins that read or run code in the namespace they are called from: in the helper that is another one
_NAMESPACE_BUILTINS = frozenset({"globals", "locals", "vars", "eval", "exec", "dir", "compile", "__import__",
                                 "breakpoint", "input"})


def carried_type(name: str, scopes: Scopes, text: str, file: str, carried: dict[str, str], line: int) -> str | None:
    """The helper's name for the function `name` as the call on `line` (inside `scopes`) sees it, its code added
    to `carried`; None where it cannot be carried."""
    definition = _the_def(name, scopes, line)
    if definition is None or not text:
        return None
    arguments = definition.args
    if (
        definition.decorator_list or definition.returns is not None
        or len(arguments.posonlyargs + arguments.args) != 1 or arguments.vararg or arguments.kwonlyargs
        or arguments.kwarg or arguments.defaults or any(a.annotation for a in arguments.args)
    ):
        return None
    segment = ast.get_source_segment(text, definition, padded=True)
    if segment is None:
        return None
    code = textwrap.dedent(segment) + "\n"
    try:
        table = symtable.symtable(code, file, "exec")
    except SyntaxError:
        return None
    reads = _names_read(next(t for t in table.get_children() if t.get_name() == definition.name))
    around = set().union(*(_bound_in(scope) for scope in scopes))
    for read in reads:
        if read.startswith("__") or read in _NAMESPACE_BUILTINS or not hasattr(builtins, read) or read in around:
            return None  # a closure variable, a module name, a rebound builtin, itself: not the builtins alone
    digest = hashlib.sha1(f"{file}:{definition.lineno}\n{code}".encode()).hexdigest()[:10]
    helper_name = f"type_{digest}"
    renamed = code.replace(f"def {definition.name}(", f"def {helper_name}(", 1)
    carried[helper_name] = f"# {file}:{definition.lineno} {definition.name}, the type of an adaptor option\n{renamed}"
    return helper_name


def _the_def(name: str, scopes: Scopes, line: int) -> ast.FunctionDef | None:
    """The def the call on `line` reads as `name`: the innermost scope that binds the name must bind it once,
    by a def of its own body written above the call."""
    for scope in reversed(scopes):
        if name not in _bound_in(scope):
            continue
        defs = [s for s in getattr(scope, "body", []) if isinstance(s, ast.FunctionDef) and s.name == name]
        if len(defs) == 1 and _bindings(scope, name) == 1 and (defs[0].end_lineno or defs[0].lineno) < line:
            return defs[0]
        return None
    return None


def _own_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes whose bindings are `scope`'s own: not those inside a def, class, lambda or comprehension in it
    (their names, the def's or class's own, are)."""
    found: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            todo.extend(node.decorator_list)
            continue
        if isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            # a walrus in a comprehension binds in the scope around it
            found.extend(n.target for n in ast.walk(node) if isinstance(n, ast.NamedExpr))
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def _binding_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
        return [node.id]
    if isinstance(node, ast.alias):
        return [(node.asname or node.name).partition(".")[0]]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.Global | ast.Nonlocal):
        return list(node.names)
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


def _bound_in(scope: ast.AST) -> set[str]:
    return {name for node in _own_nodes(scope) for name in _binding_names(node)}


def _bindings(scope: ast.AST, name: str) -> int:
    return sum(_binding_names(node).count(name) for node in _own_nodes(scope))


def _names_read(table: symtable.SymbolTable) -> set[str]:
    """The names a function and the functions inside it read from outside themselves."""
    found = {s.get_name() for s in table.get_symbols() if (s.is_global() or s.is_free()) and s.is_referenced()}
    for child in table.get_children():
        found |= _names_read(child)
    return found
