"""Class members: the bases a class has in the tree, and what `cls.name` / `obj.name` / `super().name` give."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING

from patchmerge.collection.frame import Frame
from patchmerge.collection.values import ClassState, ClassV, FuncV, InstanceV, Ref, SuperV, Unknown, Value
from patchmerge.source.bindings import target_names

if TYPE_CHECKING:
    from patchmerge.collection.walker import Interpreter


class ClassMembers:
    """What a class of the tree has: its bases (read with the run's `expressions`) and what `cls.name`,
    `obj.name` and `super().name` give."""

    def __init__(self, run: Interpreter) -> None:
        self.run = run
        self._mro: dict[int, tuple[list[ClassState], list[str]]] = {}

    def mro(self, state: ClassState) -> tuple[list[ClassState], list[str]]:
        """The class and its bases in the tree (depth first, left to right), and the bases it cannot read."""
        hit = self._mro.get(id(state))
        if hit is not None:
            return hit
        self._mro[id(state)] = ([state], [])
        order: list[ClassState] = [state]
        opaque: list[str] = []
        frame = Frame(state.module, state.file, {}, is_module=True)
        for base in state.node.bases:
            value = self.run.expressions.ev(base, frame)
            if isinstance(value, Ref):
                value = self.run.expressions.materialize(value)
            if isinstance(value, ClassV):
                sub, sub_opaque = self.mro(value.state)
                order += [s for s in sub if s not in order]
                opaque += sub_opaque
            elif ast.unparse(base) not in ("object", "ABC", "abc.ABC"):
                opaque.append(ast.unparse(base))
        self._mro[id(state)] = (order, opaque)
        return order, opaque

    def member(self, cls: ClassV, name: str, instance: Value | None, start: int = 0) -> Value:
        order, opaque = self.mro(cls.state)
        for state in order[start:]:
            raw = self._own_member(state, name)
            if raw is not None:
                return self._bind(raw, cls, instance, name)
        where = f"; it may come from {', '.join(opaque)}" if opaque else ""
        return Unknown(f"{cls.state.qualname} has no attribute '{name}' in source{where}")

    def member_after(self, sup: SuperV, name: str) -> Value:
        obj = sup.obj
        cls = obj.cls if isinstance(obj, InstanceV) else obj if isinstance(obj, ClassV) else None
        if cls is None:
            return Unknown("super() of an unknown object")
        order, _ = self.mro(cls.state)
        start = next((i + 1 for i, s in enumerate(order) if s is sup.after), len(order))
        return self.member(cls, name, obj if isinstance(obj, InstanceV) else None, start)

    def _own_member(self, state: ClassState, name: str) -> Value | None:
        if name in state.attrs:
            return state.attrs[name]
        found: ast.stmt | None = None
        for st in state.node.body:
            if name in _binds(st):
                found = st
        if found is None:
            return None
        qual = f"{state.qualname}.{name}"
        if isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef):
            return FuncV(found, state.module, qual, state.file, None, owner=state)
        if isinstance(found, ast.ClassDef):
            return ClassV(self.run.expressions.class_state(found, state.module, qual, state.file), None)
        if isinstance(found, ast.Assign | ast.AnnAssign) and found.value is not None:
            value = self.run.expressions.ev(found.value, Frame(state.module, state.file, {}, is_module=True))
            state.attrs[name] = value
            return value
        return Unknown(f"{qual} is bound by `{ast.unparse(found)[:80]}`")

    def _bind(self, raw: Value, cls: ClassV, instance: Value | None, name: str) -> Value:
        if isinstance(raw, ClassV) and raw.origin is None and cls.origin:
            return replace(raw, origin=f"{cls.origin}.{name}")
        if not isinstance(raw, FuncV):
            return raw
        # a def in the class body is named after the class; a function assigned to it keeps its own name
        origin = (f"{cls.origin}.{name}" if cls.origin else None) if raw.owner is not None else raw.origin
        decorators = {d.rsplit(".", 1)[-1] for d in raw.decorators}
        if "staticmethod" in decorators:
            return replace(raw, origin=origin)
        if "classmethod" in decorators:
            return replace(raw, origin=origin, bound=cls)
        if instance is not None and raw.bound is None:
            bound = replace(raw, origin=origin, bound=instance)
            if "property" in decorators or "cached_property" in decorators:
                return self.run.calls.invoke(bound, [], {}, Frame(cls.state.module, cls.state.file, {}), None)
            return bound
        return replace(raw, origin=origin)


def _binds(st: ast.stmt) -> list[str]:
    """The names a statement of a class body binds, by the rule of a module's index (`patchmerge.source.index`):
    the walk meets classes that no index holds (defined in a function)."""
    if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [st.name]
    if isinstance(st, ast.Import):
        return [a.asname or a.name.split(".")[0] for a in st.names]
    if isinstance(st, ast.ImportFrom):
        return [a.asname or a.name for a in st.names]
    if isinstance(st, ast.Assign):
        return [name for target in st.targets for name in target_names(target)]
    if isinstance(st, ast.AnnAssign | ast.AugAssign) and isinstance(st.target, ast.Name):
        return [st.target.id] if not (isinstance(st, ast.AnnAssign) and st.value is None) else []
    return []
