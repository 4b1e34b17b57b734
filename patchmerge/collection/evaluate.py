"""Expressions, names and attributes: what a piece of adaptor code is known to evaluate to."""

from __future__ import annotations

import ast
import builtins
import operator
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from patchmerge.collection.conditions import as_expr, imports_of, negate, simplify, truth
from patchmerge.collection.frame import Frame
from patchmerge.collection.scope import TopBinding, pick
from patchmerge.collection.texts import short
from patchmerge.collection.values import (
    BuiltinV,
    ChoiceV,
    ClassState,
    ClassV,
    Const,
    DictV,
    External,
    FuncV,
    InstanceV,
    ListV,
    MethodOf,
    ModuleV,
    RecordV,
    Ref,
    SuperV,
    Sym,
    Unknown,
    Value,
)

if TYPE_CHECKING:
    from patchmerge.collection.walker import Interpreter

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitOr: operator.or_, ast.BitAnd: operator.and_,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_BUILTINS = frozenset(dir(builtins))


class Expressions:
    """What an expression, a name or an attribute of adaptor code is known to be. Calls are the run's `calls`,
    class members its `members`; the module globals read so far are kept here."""

    def __init__(self, run: Interpreter) -> None:
        self.run = run
        self.sources = run.sources
        self.globals: dict[str, dict[str, Value]] = {}
        self._classes: dict[tuple[str, str], ClassState] = {}
        self._refs: dict[str, Value] = {}
        self._active: set[tuple[str, str]] = set()

    # -- expressions -----------------------------------------------------------------------------------

    def ev(self, node: ast.expr, frame: Frame) -> Value:
        method = getattr(self, f"_ev_{type(node).__name__}", None)
        if method is None:
            return Unknown(f"{type(node).__name__.lower()} expression `{short(node)}`")
        return method(node, frame)  # type: ignore[no-any-return]

    def _ev_Constant(self, node: ast.Constant, frame: Frame) -> Value:
        return Const(node.value)

    def _ev_Name(self, node: ast.Name, frame: Frame) -> Value:
        return self.lookup(node.id, frame)

    def _ev_Attribute(self, node: ast.Attribute, frame: Frame) -> Value:
        return self.attribute(self.ev(node.value, frame), node.attr)

    def _ev_Call(self, node: ast.Call, frame: Frame) -> Value:
        return self.run.calls.call(node, frame)

    def _ev_Lambda(self, node: ast.Lambda, frame: Frame) -> Value:
        return FuncV(node, frame.module, f"{frame.qualprefix}<lambda>", frame.file, None,
                     closure=None if frame.is_module else frame)

    def _ev_List(self, node: ast.List | ast.Tuple | ast.Set, frame: Frame) -> Value:
        items: list[Value] = []
        for elt in node.elts:
            if isinstance(elt, ast.Starred):
                inner = self.ev(elt.value, frame)
                if not isinstance(inner, ListV):
                    return Unknown(f"starred `{short(elt)}`")
                items.extend(inner.items)
            else:
                items.append(self.ev(elt, frame))
        return ListV(items, is_tuple=isinstance(node, ast.Tuple))

    _ev_Tuple = _ev_List
    _ev_Set = _ev_List

    def _ev_Dict(self, node: ast.Dict, frame: Frame) -> Value:
        if any(k is None for k in node.keys):
            return Unknown("dict with ** unpacking")
        return DictV([(self.ev(k, frame), self.ev(v, frame)) for k, v in zip(node.keys, node.values, strict=True)
                      if k is not None])

    def _ev_JoinedStr(self, node: ast.JoinedStr, frame: Frame) -> Value:
        parts = []
        for value in node.values:
            v = self.ev(value.value, frame) if isinstance(value, ast.FormattedValue) else self.ev(value, frame)
            if not isinstance(v, Const) or (isinstance(value, ast.FormattedValue) and value.format_spec):
                return Unknown(f"f-string `{short(node)}`")
            parts.append(str(v.value))
        return Const("".join(parts))

    def _ev_BoolOp(self, node: ast.BoolOp, frame: Frame) -> Value:
        is_and = isinstance(node.op, ast.And)
        values: list[Value] = []
        for operand in node.values:
            v = self.ev(operand, frame)
            if isinstance(v, Const) and not values:  # a leading constant decides or drops out, as Python does
                if bool(v.value) != is_and:
                    return v
                continue
            values.append(v)
        if not values:
            return Const(is_and)
        if len(values) == 1:
            return values[0]
        exprs = [as_expr(v) for v in values]
        if any(e is None for e in exprs):
            bad = next(v for v, e in zip(values, exprs, strict=True) if e is None)
            return bad if isinstance(bad, Unknown) else Unknown(f"`{short(node)}` mixes args with other objects")
        return Sym(ast.BoolOp(op=node.op, values=exprs), imports_of(*values))  # type: ignore[arg-type]

    def _ev_UnaryOp(self, node: ast.UnaryOp, frame: Frame) -> Value:
        v = self.ev(node.operand, frame)
        if isinstance(node.op, ast.Not):
            return negate(truth(v))
        if isinstance(v, Const):
            try:
                return Const({ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
                             [type(node.op)](v.value))
            except (TypeError, KeyError):
                return Unknown(f"`{short(node)}`")
        if isinstance(v, Sym):
            return Sym(ast.UnaryOp(op=node.op, operand=v.expr), v.imports)
        return v if isinstance(v, Unknown) else Unknown(f"`{short(node)}`")

    def _ev_BinOp(self, node: ast.BinOp, frame: Frame) -> Value:
        left, right = self.ev(node.left, frame), self.ev(node.right, frame)
        if isinstance(left, Const) and isinstance(right, Const) and type(node.op) in _BINOPS:
            try:
                return Const(_BINOPS[type(node.op)](left.value, right.value))
            except Exception:  # noqa: BLE001 - whatever Python would raise, we simply do not know the value
                return Unknown(f"`{short(node)}`")
        if isinstance(left, ListV) and isinstance(right, ListV) and isinstance(node.op, ast.Add):
            return ListV(left.items + right.items, left.is_tuple)
        return self._symbolic(lambda a, b: ast.BinOp(left=a, op=node.op, right=b), node, left, right)

    def _ev_Compare(self, node: ast.Compare, frame: Frame) -> Value:
        left = self.ev(node.left, frame)
        rights = [self.ev(c, frame) for c in node.comparators]
        values = [left, *rights]
        if all(isinstance(v, Const) for v in values) or all(isinstance(v, Const | ListV) for v in values):
            consts = [_py(v) for v in values]
            if all(c is not _NOPE for c in consts):
                try:
                    ok = all(_CMPOPS[type(op)](consts[i], consts[i + 1]) for i, op in enumerate(node.ops))
                    return Const(bool(ok))
                except Exception:  # noqa: BLE001
                    return Unknown(f"`{short(node)}`")
        if isinstance(node.ops[0], ast.Is | ast.IsNot) and len(node.ops) == 1 and isinstance(rights[0], Const) \
                and rights[0].value is None and not isinstance(left, Sym | Unknown | Const):
            return Const(isinstance(node.ops[0], ast.IsNot))  # a known object is not None
        exprs = [as_expr(v) for v in values]
        if all(e is not None for e in exprs) and any(isinstance(v, Sym) for v in values):
            return Sym(ast.Compare(left=exprs[0], ops=node.ops, comparators=exprs[1:]),  # type: ignore[arg-type]
                       imports_of(*values))
        bad = next((v for v in values if isinstance(v, Unknown)), None)
        return bad or Unknown(f"comparison `{short(node)}` of objects that are not constants")

    def _ev_IfExp(self, node: ast.IfExp, frame: Frame) -> Value:
        test = truth(self.ev(node.test, frame))
        if isinstance(test, Const):
            return self.ev(node.body if test.value else node.orelse, frame)
        if isinstance(test, Unknown):
            return test
        body, orelse = self.ev(node.body, frame), self.ev(node.orelse, frame)
        b, o = as_expr(body), as_expr(orelse)
        if b is not None and o is not None:
            return Sym(simplify(ast.IfExp(test=test.expr, body=b, orelse=o)), imports_of(test, body, orelse))
        return ChoiceV((((test,), body), ((negate(test),), orelse)))  # type: ignore[arg-type]

    def _ev_Subscript(self, node: ast.Subscript, frame: Frame) -> Value:
        obj, key = self.ev(node.value, frame), self.ev(node.slice, frame)
        if isinstance(obj, ListV) and isinstance(key, Const) and isinstance(key.value, int):
            try:
                return obj.items[key.value]
            except IndexError:
                return Unknown(f"`{short(node)}` out of range")
        if isinstance(obj, DictV) and isinstance(key, Const):
            for k, v in reversed(obj.items):
                if isinstance(k, Const) and k.value == key.value:
                    return v
        return self._symbolic(lambda a, b: ast.Subscript(value=a, slice=b, ctx=ast.Load()), node, obj, key)

    def _ev_Slice(self, node: ast.Slice, frame: Frame) -> Value:
        return Unknown("slice")

    def _symbolic(self, build: Callable[[ast.expr, ast.expr], ast.expr], node: ast.expr, *values: Value) -> Value:
        exprs = [as_expr(v) for v in values]
        if all(e is not None for e in exprs) and any(isinstance(v, Sym) for v in values):
            return Sym(build(*exprs), imports_of(*values))  # type: ignore[arg-type]
        bad = next((v for v in values if isinstance(v, Unknown)), None)
        return bad or Unknown(f"`{short(node)}`")

    # -- names -----------------------------------------------------------------------------------------

    def lookup(self, name: str, frame: Frame) -> Value:
        scope: Frame | None = frame
        while scope is not None:
            if name in scope.env:
                return scope.env[name]
            scope = scope.closure
        return self.module_global(frame.module, name)

    def module_global(self, module: str, name: str) -> Value:
        cache = self.globals.setdefault(module, {})
        if name in cache:
            return cache[name]
        key = (module, name)
        if key in self._active:
            return Unknown(f"{module}.{name} refers to itself")
        self._active.add(key)
        try:
            value = self._global(module, name)
        finally:
            self._active.discard(key)
        cache[name] = value
        return value

    def _global(self, module: str, name: str) -> Value:
        table = self.sources.bindings(module)
        chosen = pick(table.get(name, []))
        if chosen is not None:
            return self.binding_value(module, name, chosen)
        for star in reversed(table.get("*", [])):
            assert isinstance(star.node, ast.ImportFrom)
            source = self.sources.absolute(module, star.node.level, star.node.module)
            if self.sources.exists(source) and (name in self.sources.bindings(source) or "*" in
                                                self.sources.bindings(source)):
                found = self.module_global(source, name)
                if not isinstance(found, Unknown):
                    return found
        if self.sources.exists(f"{module}.{name}"):
            return ModuleV(f"{module}.{name}")
        if name in _BUILTINS:
            return BuiltinV(name)
        return Unknown(f"name '{name}' is not bound in {module}")

    def binding_value(self, module: str, name: str, binding: TopBinding) -> Value:
        st = binding.node
        file = self.sources.rel(self.sources.module_file(module))  # type: ignore[arg-type]
        if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef):
            return FuncV(st, module, name, file, f"{module}.{name}")
        if isinstance(st, ast.ClassDef):
            return ClassV(self.class_state(st, module, name, file), f"{module}.{name}")
        if isinstance(st, ast.Import):
            for alias in st.names:
                if alias.asname == name:
                    return self.module_value(alias.name)
                if alias.asname is None and alias.name.split(".")[0] == name:
                    return self.module_value(name)
        if isinstance(st, ast.ImportFrom):
            source = self.sources.absolute(module, st.level, st.module)
            for alias in st.names:
                if (alias.asname or alias.name) == name:
                    return Ref(f"{source}.{alias.name}")
        if isinstance(st, ast.Assign | ast.AnnAssign) and st.value is not None:
            frame = Frame(module, file, {}, is_module=True)
            value = self.ev(st.value, frame)
            targets = st.targets if isinstance(st, ast.Assign) else [st.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                return value
            return Unknown(f"{name} is bound by an unpacking assignment ({file}:{st.lineno})")
        return Unknown(f"{module}.{name} is bound by `{short(st)}`")

    def module_value(self, dotted: str) -> Value:
        return ModuleV(dotted) if self.sources.exists(dotted) else External(dotted)

    def class_state(self, node: ast.ClassDef, module: str, qualname: str, file: str) -> ClassState:
        key = (module, qualname)
        state = self._classes.get(key)
        if state is None or state.node is not node:
            state = self._classes[key] = ClassState(node, module, qualname, file)
        return state

    def materialize(self, ref: Ref) -> Value:
        hit = self._refs.get(ref.dotted)
        if hit is not None:
            return hit
        parts = ref.dotted.split(".")
        k = 0
        while k < len(parts) and self.sources.exists(".".join(parts[: k + 1])):
            k += 1
        value: Value
        if k == 0:
            value = External(ref.dotted)
        else:
            self._refs[ref.dotted] = Unknown(f"{ref.dotted} is imported in a cycle")
            value = ModuleV(".".join(parts[:k]))
            for part in parts[k:]:
                value = self.attribute(value, part)
            if isinstance(value, Ref):  # a re-export: follow it to the object
                value = self.materialize(value)
            if isinstance(value, FuncV | ClassV):
                value = replace(value, origin=ref.dotted)
        self._refs[ref.dotted] = value
        return value

    # -- attributes ------------------------------------------------------------------------------------

    def attribute(self, obj: Value, name: str) -> Value:
        if isinstance(obj, Ref):
            obj = self.materialize(obj)
        if isinstance(obj, ModuleV):
            if name in self.sources.bindings(obj.name) or "*" in self.sources.bindings(obj.name):
                found = self.module_global(obj.name, name)
                if not isinstance(found, Unknown) or not self.sources.exists(f"{obj.name}.{name}"):
                    return found
            if self.sources.exists(f"{obj.name}.{name}"):
                return ModuleV(f"{obj.name}.{name}")
            return Unknown(f"module {obj.name} has no name '{name}'")
        if isinstance(obj, External):
            return External(f"{obj.dotted}.{name}")
        if isinstance(obj, Sym):
            return Sym(ast.Attribute(value=obj.expr, attr=name, ctx=ast.Load()), obj.imports)
        if isinstance(obj, ClassV):
            return self.run.members.member(obj, name, None)
        if isinstance(obj, InstanceV):
            if name in obj.attrs:
                return obj.attrs[name]
            return self.run.members.member(obj.cls, name, obj)
        if isinstance(obj, SuperV):
            return self.run.members.member_after(obj, name)
        if isinstance(obj, RecordV):
            return obj.attrs.get(name, Unknown(f"record has no field '{name}'"))
        if isinstance(obj, ListV | DictV | Const):
            return MethodOf(obj, name)
        if isinstance(obj, Unknown):
            return obj
        return Unknown(f"attribute '{name}' of {type(obj).__name__}")

_NOPE = object()


def _py(value: Value) -> object:
    if isinstance(value, Const):
        return value.value
    if isinstance(value, ListV):
        items = [_py(v) for v in value.items]
        return _NOPE if any(i is _NOPE for i in items) else (tuple(items) if value.is_tuple else items)
    return _NOPE
