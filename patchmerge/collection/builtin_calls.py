"""Builtins called in adaptor code: what `getattr`, `super`, `len`, `range`, ... and the methods of lists, dicts
and strings give, as far as the walk knows their arguments."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from patchmerge.collection.conditions import as_expr, imports_of
from patchmerge.collection.frame import Frame
from patchmerge.collection.values import (
    ClassV,
    Const,
    DictV,
    InstanceV,
    ListV,
    MethodOf,
    RecordV,
    SuperV,
    Sym,
    Unknown,
    Value,
)

if TYPE_CHECKING:
    from patchmerge.collection.walker import Interpreter

_STR_METHODS = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "replace", "startswith", "endswith",
                          "split", "format", "title", "join"})
# builtins that may stay in a condition when applied to args (they read, never change)
_PURE = frozenset({"int", "float", "str", "bool", "len", "abs", "min", "max", "round", "isinstance", "any", "all",
                   "tuple", "list", "sorted", "set"})


class Builtins:
    """The builtin functions of the run (`getattr` reads attributes with the run's `expressions`)."""

    def __init__(self, run: Interpreter) -> None:
        self.run = run

    def call(self, name: str, args: list[Value], kwargs: dict[str, Value], frame: Frame) -> Value:
        """What calling the builtin `name` gives, where the arguments say (else Unknown, with why)."""
        if name in ("getattr", "hasattr") and len(args) >= 2 and isinstance(args[1], Const) and \
                isinstance(args[1].value, str):
            obj, attr = args[0], args[1].value
            if isinstance(obj, Sym):
                rest = [as_expr(a) for a in args[1:]]
                if all(r is not None for r in rest):
                    return Sym(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[obj.expr, *rest],  # type: ignore
                                        keywords=[]), imports_of(*args))
                return Unknown(f"{name}() with a default that is not a constant")
            found = self.run.expressions.attribute(obj, attr)
            if name == "hasattr":
                return Const(True) if not isinstance(found, Unknown) else Unknown(found.reason)
            if isinstance(found, Unknown) and len(args) > 2 and isinstance(obj, InstanceV | ClassV | RecordV):
                return args[2]
            return found
        if name == "super":
            if len(args) == 2 and isinstance(args[0], ClassV):
                return SuperV(args[0].state, args[1])
            if frame.func is not None and frame.func.owner is not None and frame.first_arg is not None:
                return SuperV(frame.func.owner, frame.first_arg)
            return Unknown("super() outside a method")
        if name in ("list", "tuple") and len(args) == 1 and isinstance(args[0], ListV):
            return ListV(list(args[0].items), is_tuple=name == "tuple")
        if name in ("list", "tuple", "dict") and not args:
            return ListV([], is_tuple=name == "tuple") if name != "dict" else DictV([])
        if name == "len" and len(args) == 1 and isinstance(args[0], ListV):
            return Const(len(args[0].items))
        if name == "enumerate" and args and isinstance(args[0], ListV):
            return ListV([ListV([Const(i), v], is_tuple=True) for i, v in enumerate(args[0].items)])
        if name == "zip" and args and all(isinstance(a, ListV) for a in args):
            return ListV([ListV(list(t), is_tuple=True) for t in zip(*(a.items for a in args), strict=False)])  # type: ignore
        if name == "range" and args and all(isinstance(a, Const) and isinstance(a.value, int) for a in args):
            return ListV([Const(i) for i in range(*(a.value for a in args))])  # type: ignore[union-attr]
        if name in ("bool", "str", "int", "float") and len(args) == 1 and isinstance(args[0], Const):
            try:
                return Const({"bool": bool, "str": str, "int": int, "float": float}[name](args[0].value))
            except (TypeError, ValueError):
                return Unknown(f"{name}() of {args[0].value!r}")
        if name == "bool" and len(args) == 1 and isinstance(args[0], Sym):
            return args[0]
        if name in _PURE and not kwargs and any(isinstance(a, Sym) for a in args) and \
                all(as_expr(a) is not None for a in args):
            return Sym(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[as_expr(a) for a in args],  # type: ignore
                                keywords=[]), imports_of(*args))
        if name in ("print", "setattr", "delattr"):
            return Const(None)
        return Unknown(f"builtin {name}()")


def method_of_value(method: MethodOf, args: list[Value], kwargs: dict[str, Value]) -> Value:
    """What calling a method of a list, dict or string value gives (a list or dict it changes, changed)."""
    obj, name = method.obj, method.name
    if isinstance(obj, ListV) and not obj.is_tuple:
        if name == "append" and len(args) == 1:
            obj.items.append(args[0])
            return Const(None)
        if name == "extend" and len(args) == 1 and isinstance(args[0], ListV):
            obj.items.extend(args[0].items)
            return Const(None)
        if name == "insert" and len(args) == 2 and isinstance(args[0], Const) and isinstance(args[0].value, int):
            obj.items.insert(args[0].value, args[1])
            return Const(None)
        if name == "copy":
            return ListV(list(obj.items))
    if isinstance(obj, DictV) and name in ("items", "keys", "values"):
        pick = {"items": lambda k, v: ListV([k, v], is_tuple=True), "keys": lambda k, v: k,
                "values": lambda k, v: v}[name]
        return ListV([pick(k, v) for k, v in obj.items])
    if isinstance(obj, DictV) and name == "get" and args and isinstance(args[0], Const):
        for k, v in reversed(obj.items):
            if isinstance(k, Const) and k.value == args[0].value:
                return v
        return args[1] if len(args) > 1 else Const(None)
    if isinstance(obj, Const) and isinstance(obj.value, str) and name in _STR_METHODS and not kwargs and \
            all(isinstance(a, Const) for a in args):
        try:
            return Const(getattr(obj.value, name)(*(a.value for a in args)))  # type: ignore[union-attr]
        except (TypeError, ValueError):
            return Unknown(f"str.{name}() failed")
    return Unknown(f"method {name}() of {type(obj).__name__}")
