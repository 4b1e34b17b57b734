"""Conditions are Python expressions that will be written into source: check them strictly."""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

# Constructs that are expressions to the parser but never a sane predicate over args:
# a lambda is always truthy, and the others have side effects or suspend the caller.
_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Lambda: "a lambda (always true; a condition must be a predicate over args)",
    ast.NamedExpr: "an assignment expression (:=)",
    ast.Yield: "a yield",
    ast.YieldFrom: "a yield from",
    ast.Await: "an await",
}

BUILTIN_NAMES = frozenset(dir(builtins))

# A condition runs in every training process, so it may read args, its condition_import names and these
# builtins only (the profile's conditions.allowed_names adds more). Each is a pure function of its arguments:
# none reaches a module, a file, a frame or a namespace, nor runs code given as text. What collect writes
# must pass as it is, so every builtin collect keeps in a condition is here (tests hold the two together).
ALLOWED_BUILTINS = frozenset({
    "bool", "int", "float", "str",  # convert an arg value before comparing it
    "len", "min", "max", "abs", "round",  # numbers from arg values
    "any", "all",  # predicates over a list arg
    "isinstance",  # type tests; `type` stays out, its three-argument form builds classes
    "tuple", "list", "set", "dict", "sorted",  # a container to compare with, or to look in
    "getattr", "hasattr",  # an optional arg: getattr(args, 'x', None), the name a plain string (checked below)
})
ALLOWED_HINT = "profile: conditions.allowed_names"

# Attributes that reach the interpreter's internals: dunders (args.__class__, f.__globals__) and the frame and
# code attributes of generators, coroutines and tracebacks (a generator expression's gi_frame.f_globals holds
# __builtins__). The usual escapes out of an expression that may only read data.
_INTERNAL_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code", "ag_await",
    "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_trace", "tb_frame", "tb_next", "co_code",
})
# str.format reads attributes named inside the format string ('{0.__class__}'), out of sight of the check above
_FORMAT_METHODS = frozenset({"format", "format_map"})
_NAME_READERS = frozenset({"getattr", "hasattr"})


class ConditionError(ValueError):
    """The condition text is not one acceptable Python expression."""


@dataclass(frozen=True)
class ParsedCondition:
    text: str
    tree: ast.Expression
    free_names: frozenset[str]  # names read from the surroundings that are not builtins
    builtins_read: frozenset[str] = frozenset()  # builtin names it reads (checked against the allowed ones)


def parse_condition(text: object) -> ParsedCondition:
    """Parse one condition; raise ConditionError with a reason a person can act on."""
    if not isinstance(text, str):
        raise ConditionError(f"must be a string holding a Python expression, got {type(text).__name__}")
    if not text.strip():
        raise ConditionError("is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (RecursionError, MemoryError):
        raise ConditionError("is nested too deeply to parse") from None
    except SyntaxError as exc:
        try:
            ast.parse(text.strip(), mode="exec")
        except SyntaxError:
            raise ConditionError(f"is not valid Python ({exc.msg})") from None
        raise ConditionError("is a statement, not an expression") from None
    for node in ast.walk(tree):
        reason = _FORBIDDEN.get(type(node))
        if reason:
            raise ConditionError(f"contains {reason}")
    _check_attributes(tree)
    try:
        names = _free_names(tree.body, frozenset())
    except RecursionError:
        raise ConditionError("is nested too deeply to parse") from None
    return ParsedCondition(
        text=text.strip(),
        tree=tree,
        free_names=frozenset(names - BUILTIN_NAMES),
        builtins_read=frozenset(names & BUILTIN_NAMES),
    )


def is_internal_attribute(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") or name in _INTERNAL_ATTRIBUTES


def _check_attributes(tree: ast.Expression) -> None:
    """Refuse what reaches the interpreter's internals through attributes, whatever the names it reads."""
    readers_called: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_internal_attribute(node.attr):
            raise ConditionError(
                f"reads the attribute {node.attr}, which a condition may not read (dunder, frame and code "
                "attributes reach the interpreter's internals)"
            )
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in _FORMAT_METHODS:
            raise ConditionError(
                f"calls .{node.func.attr}(), which a condition may not call (a format string reads any attribute)"
            )
        if isinstance(node.func, ast.Name) and node.func.id in _NAME_READERS:
            name = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)) or node.keywords:
                raise ConditionError(f"calls {node.func.id}() without a plain string as the attribute name")
            if is_internal_attribute(name.value):
                raise ConditionError(
                    f"reads the attribute {name.value} through {node.func.id}(), which a condition may not read "
                    "(dunder, frame and code attributes reach the interpreter's internals)"
                )
            readers_called.add(id(node.func))
    for node in ast.walk(tree):  # getattr handed on as a value (a key= function...) escapes the check above
        if isinstance(node, ast.Name) and node.id in _NAME_READERS and id(node) not in readers_called:
            raise ConditionError(f"uses {node.id} other than as {node.id}(obj, 'name'), which a condition may not")


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _free_names(node: ast.AST, bound: frozenset[str]) -> set[str]:
    """Names the expression reads from its surroundings: loaded names, minus those a comprehension binds
    in its own scope (its targets). Lambdas never get here (they are rejected above)."""
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) and node.id not in bound else set()
    if not isinstance(node, _COMPREHENSIONS):
        return {name for child in ast.iter_child_nodes(node) for name in _free_names(child, bound)}
    names: set[str] = set()
    inner = bound
    for position, generator in enumerate(node.generators):
        # the first iterable is evaluated in the enclosing scope, the rest inside the comprehension
        names |= _free_names(generator.iter, bound if position == 0 else inner)
        inner = inner | {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Store)}
        names |= _free_names(generator.target, inner)  # e.g. `for args.x in ...` reads args
        for test in generator.ifs:
            names |= _free_names(test, inner)
    results = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
    for result in results:
        names |= _free_names(result, inner)
    return names


def refused_name(
    condition: ParsedCondition, condition_import: tuple[str, ...], allowed: frozenset[str], args_name: str = "args"
) -> str | None:
    """The first name the condition may not read: a builtin not in `allowed` (nor given by args or its
    condition_import), or any dunder name (`__builtins__`, `__import__`). Other unknown names are for the planner:
    a missing condition_import is a patch that does not resolve, not code that must never run."""
    provided = {args_name} | {dotted.rsplit(".", 1)[-1] for dotted in condition_import}
    names = condition.free_names | condition.builtins_read
    refused = {n for n in names if n.startswith("__") and n.endswith("__")}
    refused |= condition.builtins_read - provided - allowed
    return min(refused) if refused else None


def refusal(name: str) -> str:
    return f"reads {name}, which is not args, a condition_import name or an allowed builtin ({ALLOWED_HINT})"


def unknown_names(condition: ParsedCondition, condition_import: tuple[str, ...], args_name: str = "args") -> list[str]:
    """Names a condition reads that neither `args` nor its condition_import provide."""
    provided = {args_name} | {dotted.rsplit(".", 1)[-1] for dotted in condition_import}
    return sorted(condition.free_names - provided)
