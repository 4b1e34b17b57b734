"""Calls: args spellings, registrations, apply calls, and following functions, methods and classes."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from patchmerge.collection.builtin_calls import Builtins, method_of_value
from patchmerge.collection.conditions import as_expr, imports_of, simplify
from patchmerge.collection.frame import Frame
from patchmerge.collection.model import Site
from patchmerge.collection.texts import dotted_text, short
from patchmerge.collection.values import (
    BuiltinV,
    ChoiceV,
    ClassV,
    Const,
    DictV,
    External,
    FuncV,
    InstanceV,
    ListV,
    MethodOf,
    RecordClassV,
    RecordV,
    Ref,
    Sym,
    Unknown,
    Value,
    args_value,
    same,
)

if TYPE_CHECKING:
    from patchmerge.collection.walker import Interpreter, Settings

# decorators that leave a function callable as written
_TRANSPARENT = frozenset({"staticmethod", "classmethod", "property", "abstractmethod", "cached_property",
                          "wraps", "lru_cache", "cache", "override", "final", "setter", "getter"})
MAX_DEPTH = 60


class Calls:
    """Calls met in adaptor code: args spellings, registrations and apply calls (handed to the run's
    `registry`), and the functions, methods and classes followed into."""

    def __init__(self, run: Interpreter, settings: Settings) -> None:
        self.run = run
        self.settings = settings
        heads = {s.rsplit(".", 1)[0].rsplit(".", 1)[-1] for s in (*settings.shapes, *settings.apply_shapes) if "." in s}
        self.collection_names = frozenset(heads)
        self._stack: list[ast.AST] = []
        self.builtins = Builtins(run)
        # set by a caller that wants to know which defs a run enters ((file, line of the def)) and which call
        # sites it followed into one ((file, line, column)): collect.entered, for the adaptor's parse
        self.entered: set[tuple[str, int]] | None = None
        self.followed: set[tuple[str, int, int]] = set()

    # -- dispatch --------------------------------------------------------------------------------------

    def call(self, node: ast.Call, frame: Frame, statement: bool = False) -> Value:
        text = dotted_text(node.func) or ""
        receiver: Value | None = None
        if isinstance(node.func, ast.Attribute):
            receiver = self.run.expressions.ev(node.func.value, frame)
            if isinstance(receiver, Ref):
                receiver = self.run.expressions.materialize(receiver)
            callee = self.run.expressions.attribute(receiver, node.func.attr)
        else:
            callee = self.run.expressions.ev(node.func, frame)
        if isinstance(callee, Ref):
            callee = self.run.expressions.materialize(callee)
        kind = self._shape(text, receiver, callee, node)
        if kind == "args":
            return args_value()
        if kind == "register":
            self.run.registry.register(node, receiver, callee, frame)
            return Const(None)
        if kind == "apply":
            self.run.registry.apply(receiver, text, frame, node)
            return Const(None)
        if text and text.rsplit(".", 1)[-1] in self.settings.opaque:
            self.run.unreadable(frame, node.lineno, f"`{short(node)}` changes registered patches at run time, "
                                                "which collect does not model")
            return Unknown(f"call to {text}")
        args, kwargs = self.arguments(node, frame)
        return self.call_value(callee, args, kwargs, frame, node, statement)

    def _shape(self, text: str, receiver: Value | None, callee: Value, node: ast.Call) -> str | None:
        qual = callee.qualname if isinstance(callee, FuncV) else None
        if text in self.settings.arg_calls or (qual in self.settings.arg_calls and not node.args):
            return "args"
        names = {text}
        if isinstance(node.func, ast.Attribute):
            cls = receiver.cls if isinstance(receiver, InstanceV) else receiver
            if isinstance(cls, ClassV):
                names.add(f"{cls.state.qualname.rsplit('.', 1)[-1]}.{node.func.attr}")
        if names & self.settings.shapes:
            return "register"
        if names & self.settings.apply_shapes:
            return "apply"
        return None

    def arguments(self, node: ast.Call, frame: Frame) -> tuple[list[Value], dict[str, Value]]:
        args: list[Value] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                inner = self.run.expressions.ev(arg.value, frame)
                args.extend(inner.items if isinstance(inner, ListV) else [Unknown("*args")])
            else:
                args.append(self.run.expressions.ev(arg, frame))
        kwargs = {kw.arg: self.run.expressions.ev(kw.value, frame) for kw in node.keywords if kw.arg is not None}
        return args, kwargs

    def is_collection(self, value: Value) -> bool:
        if isinstance(value, Ref):
            value = self.run.expressions.materialize(value)
        cls = value.cls if isinstance(value, InstanceV) else value
        return isinstance(cls, ClassV) and cls.state.qualname.rsplit(".", 1)[-1] in self.collection_names

    def call_value(self, callee: Value, args: list[Value], kwargs: dict[str, Value], frame: Frame,
                   node: ast.Call | None, statement: bool = False) -> Value:
        line = node.lineno if node is not None else 0
        if isinstance(callee, FuncV):
            if not statement and self._keeps_symbolic(callee, args, kwargs):
                return self._symbolic_call(callee, args, kwargs)
            return self.invoke(callee, args, kwargs, frame, node)
        if isinstance(callee, ClassV):
            instance = InstanceV(callee)
            init = self.run.members.member(callee, "__init__", instance)
            if isinstance(init, FuncV):
                self.invoke(init, args, kwargs, frame, node)
            return instance
        if isinstance(callee, BuiltinV):
            return self.builtins.call(callee.name, args, kwargs, frame)
        if isinstance(callee, MethodOf):
            return method_of_value(callee, args, kwargs)
        if isinstance(callee, RecordClassV):
            attrs = dict(zip(callee.fields, args, strict=False))
            attrs.update(kwargs)
            return RecordV(attrs)
        if isinstance(callee, External) and callee.dotted.rsplit(".", 1)[-1] == "namedtuple" and len(args) > 1:
            fields = args[1]
            if isinstance(fields, ListV) and all(isinstance(f, Const) for f in fields.items):
                return RecordClassV(tuple(str(f.value) for f in fields.items))  # type: ignore[union-attr]
            if isinstance(fields, Const) and isinstance(fields.value, str):
                return RecordClassV(tuple(fields.value.replace(",", " ").split()))
        if isinstance(callee, Sym):
            exprs = [as_expr(a) for a in args]
            if all(e is not None for e in exprs) and not kwargs:
                return Sym(ast.Call(func=callee.expr, args=exprs, keywords=[]),  # type: ignore[arg-type]
                           imports_of(callee, *args))
        if any(self.is_collection(v) for v in [*args, *kwargs.values()]) and node is not None:
            what = callee.dotted if isinstance(callee, External) else short(node.func)
            why = callee.reason if isinstance(callee, Unknown) else "it is outside the source roots"
            self.run.unreadable(frame, line, f"call to {what} passes a patch collection but cannot be followed: {why}")
        if isinstance(callee, Unknown):
            return callee
        if isinstance(callee, External):
            return Unknown(f"result of {callee.dotted}(...) (outside the source roots)")
        return Unknown(f"call of {type(callee).__name__}")

    def _keeps_symbolic(self, func: FuncV, args: list[Value], kwargs: dict[str, Value]) -> bool:
        """A module-level helper called on args in an expression stays a call in the condition (with its
        import), as a person would write it; methods and local functions are followed instead."""
        values = [*args, *kwargs.values()]
        return (func.owner is None and func.bound is None and func.origin is not None and func.closure is None
                and any(isinstance(v, Sym) for v in values) and all(as_expr(v) is not None for v in values))

    def _symbolic_call(self, func: FuncV, args: list[Value], kwargs: dict[str, Value]) -> Sym:
        assert func.origin is not None
        name = func.origin.rsplit(".", 1)[-1]
        call = ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[as_expr(a) for a in args],  # type: ignore
                        keywords=[ast.keyword(arg=k, value=as_expr(v)) for k, v in kwargs.items()])  # type: ignore
        return Sym(call, imports_of(*args, *kwargs.values()) | {func.origin})

    # -- following a function --------------------------------------------------------------------------

    def invoke(self, func: FuncV, args: list[Value], kwargs: dict[str, Value], frame: Frame,
               node: ast.AST | None, outer_site: Site | None = None) -> Value:
        line = getattr(node, "lineno", 0)
        for decorator in func.decorators:
            last = decorator.rsplit(".", 1)[-1]
            if last not in _TRANSPARENT and last not in self.settings.follow_decorators and decorator not in \
                    self.settings.follow_decorators:
                self.run.unreadable(frame, line, f"call to {func.qualname}, decorated with @{decorator}, is not "
                                             "followed (add the decorator to collect.follow_decorators if it calls "
                                             "the function through)")
                return Unknown(f"{func.qualname} is decorated with @{decorator}")
        if func.node in self._stack or len(self._stack) >= MAX_DEPTH:
            return Unknown(f"recursive call of {func.qualname}")
        if self.entered is not None:
            if not isinstance(func.node, ast.Lambda):
                self.entered.add((func.file, func.node.lineno))
            if node is not None:
                self.followed.add((frame.file, getattr(node, "lineno", 0), getattr(node, "col_offset", 0)))
        env = self.bind_parameters(func, args, kwargs)
        site = Site(frame.file, line) if node is not None else None
        callee = Frame(
            module=func.module, file=func.file, env=env, conds=frame.conds, chain=(*frame.chain, func.qualname),
            calls=(*frame.calls, site) if site else frame.calls, closure=func.closure,  # type: ignore[arg-type]
            uncertain=frame.uncertain, func=func, qualprefix=f"{func.qualname}.<locals>.",
            entry_conds=frame.conds, outer_site=outer_site or frame.outer_site,
        )
        callee.first_arg = func.bound if func.bound is not None else next(iter(env.values()), None)
        self._stack.append(func.node)
        try:
            if isinstance(func.node, ast.Lambda):
                return self.run.expressions.ev(func.node.body, callee)
            falls = self.run.exec_body(func.node.body, callee)
        finally:
            self._stack.pop()
        if falls:
            callee.returns.append((callee.relative_conds(), Const(None)))
        return self.join_returns(callee.returns)

    def bind_parameters(self, func: FuncV, args: list[Value], kwargs: dict[str, Value]) -> dict[str, Value]:
        spec = func.node.args
        positional = [a.arg for a in [*spec.posonlyargs, *spec.args]]
        values = ([func.bound] if func.bound is not None else []) + list(args)
        env: dict[str, Value] = {}
        for name, value in zip(positional, values, strict=False):
            env[name] = value
        if spec.vararg is not None:
            env[spec.vararg.arg] = ListV(values[len(positional):], is_tuple=True)
        extra: dict[str, Value] = {}
        for key, value in kwargs.items():
            if key in positional or any(a.arg == key for a in spec.kwonlyargs):
                env[key] = value
            else:
                extra[key] = value
        if spec.kwarg is not None:
            env[spec.kwarg.arg] = DictV([(Const(k), v) for k, v in extra.items()])
        defaults = dict(zip(positional[len(positional) - len(spec.defaults):], spec.defaults, strict=True))
        defaults.update({a.arg: d for a, d in zip(spec.kwonlyargs, spec.kw_defaults, strict=True) if d is not None})
        scope = Frame(func.module, func.file, {}, is_module=func.closure is None, closure=func.closure)  # type: ignore
        for name in [*positional, *(a.arg for a in spec.kwonlyargs)]:
            if name in env:
                continue
            if name in defaults:
                env[name] = self.run.expressions.ev(defaults[name], scope)
            elif name in self.settings.arg_params:
                env[name] = args_value()
            else:
                env[name] = Unknown(f"parameter '{name}' of {func.qualname} is not passed")
        return env

    @staticmethod
    def join_returns(returns: list[tuple[tuple[Sym, ...], Value]]) -> Value:
        if not returns:
            return Unknown("the function never returns normally")
        first = returns[0][1]
        if all(same(v, first) for _, v in returns):
            return first
        if all(as_expr(v) is not None for _, v in returns):
            expr = as_expr(returns[-1][1])
            imports = imports_of(*(v for _, v in returns))
            for conds, value in reversed(returns[:-1]):
                test = conds[0].expr if len(conds) == 1 else ast.BoolOp(op=ast.And(), values=[c.expr for c in conds])
                if not conds:
                    expr = as_expr(value)
                    continue
                expr = _if_exp(test, as_expr(value), expr)  # type: ignore[arg-type]
                imports |= frozenset().union(*(c.imports for c in conds))
            return Sym(expr, imports)  # type: ignore[arg-type]
        return ChoiceV(tuple(returns))


def _if_exp(test: ast.expr, body: ast.expr, orelse: ast.expr) -> ast.expr:
    if isinstance(body, ast.Constant) and isinstance(orelse, ast.Constant) and isinstance(body.value, bool) \
            and isinstance(orelse.value, bool):
        if body.value and not orelse.value:
            return test
        if orelse.value and not body.value:
            return simplify(ast.UnaryOp(op=ast.Not(), operand=test))
    return ast.IfExp(test=test, body=body, orelse=orelse)
