"""An option's `type=` that is a function of the adaptor's parser files, carried into the helper.

MindSpeed's `--virtual-optimizer` converts each value with a function it defines beside the call
(`parse_list_for_virtual_optimizer`: 'all' gives 65.0, a number its float, anything else an error). A stdlib
parser of the option needs that conversion, or its value (and its error) would differ. A function that takes
the value alone and reads nothing but builtins is carried as written, under a name of its own
(`type_<digest>`); anything else leaves the option unreadable, as before.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import symtable
import textwrap

Scopes = list[dict[str, ast.FunctionDef]]  # the defs each enclosing function (or the module) holds, innermost last


def nested_defs(node: ast.AST) -> dict[str, ast.FunctionDef]:
    """The defs directly in the body of a module or function, by name (a later one wins, as it does when run)."""
    body = getattr(node, "body", [])
    return {statement.name: statement for statement in body if isinstance(statement, ast.FunctionDef)}


def carried_type(name: str, scopes: Scopes, text: str, file: str, carried: dict[str, str]) -> str | None:
    """The helper's name for the function `name` as the call at the end of `scopes` sees it, its code added to
    `carried`; None where it cannot be carried."""
    definition = next((scope[name] for scope in reversed(scopes) if name in scope), None)
    if definition is None or not text:
        return None
    arguments = definition.args
    if (
        definition.decorator_list or definition.returns is not None
        or len(arguments.posonlyargs + arguments.args) != 1 or arguments.vararg or arguments.kwonlyargs
        or arguments.kwarg or arguments.defaults or any(a.annotation for a in arguments.args)
    ):
        return None
    lines = text.splitlines()[definition.lineno - 1:definition.end_lineno]
    code = textwrap.dedent("\n".join(lines)) + "\n"
    try:
        table = symtable.symtable(code, file, "exec")
    except SyntaxError:
        return None
    reads = _names_read(next(t for t in table.get_children() if t.get_name() == definition.name))
    if any(read.startswith("__") or read == definition.name or not hasattr(builtins, read) for read in reads):
        return None  # a closure variable, a module name, itself: not the builtins alone
    digest = hashlib.sha1(f"{file}:{definition.lineno}\n{code}".encode()).hexdigest()[:10]
    helper_name = f"type_{digest}"
    renamed = code.replace(f"def {definition.name}(", f"def {helper_name}(", 1)
    carried[helper_name] = f"# {file}:{definition.lineno} {definition.name}, the type of an adaptor option\n{renamed}"
    return helper_name


def _names_read(table: symtable.SymbolTable) -> set[str]:
    """The names a function and the functions inside it read from outside themselves."""
    found = {s.get_name() for s in table.get_symbols() if (s.is_global() or s.is_free()) and s.is_referenced()}
    for child in table.get_children():
        found |= _names_read(child)
    return found
