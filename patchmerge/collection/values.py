"""The abstract values the collect interpreter computes with.

A value is what an expression is known to be without running it: a constant, an expression over the parsed
`args` (kept symbolic: it becomes a patch condition), a named definition of the tree (function, class, module),
an object the walk created (instance, list), or Unknown with the reason why.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field


class Value:
    """Base of every abstract value."""


@dataclass(frozen=True, eq=False)
class Const(Value):
    value: object


@dataclass(frozen=True, eq=False)
class Sym(Value):
    """An expression over `args` (and the helpers named in `imports`), evaluated at run time."""

    expr: ast.expr
    imports: frozenset[str] = frozenset()

    @property
    def text(self) -> str:
        return ast.unparse(self.expr)


def args_value() -> Sym:
    return Sym(ast.Name(id="args", ctx=ast.Load()))


@dataclass(frozen=True, eq=False)
class Unknown(Value):
    reason: str


@dataclass(frozen=True, eq=False)
class Ref(Value):
    """A dotted name as imported (`from a.b import c` -> "a.b.c"), looked up only when it is used."""

    dotted: str


@dataclass(frozen=True, eq=False)
class ModuleV(Value):
    name: str


@dataclass(frozen=True, eq=False)
class External(Value):
    """Something outside the source roots (torch, apex, ...): only its dotted name is known."""

    dotted: str


@dataclass(eq=False)
class ClassState:
    """One class of the tree; shared by every value that names it, so class attributes set during the walk
    (a features list filled by a classmethod) are seen everywhere."""

    node: ast.ClassDef
    module: str
    qualname: str
    file: str
    attrs: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ClassV(Value):
    state: ClassState
    origin: str | None  # dotted name as reached (for patch_import); None for a local class


@dataclass(frozen=True, eq=False)
class FuncV(Value):
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    module: str
    qualname: str
    file: str
    origin: str | None  # None: a local function or lambda (not importable)
    closure: object | None = None  # the enclosing Frame of a nested function
    owner: ClassState | None = None  # the class whose body defines it
    bound: Value | None = None  # self or cls, once bound

    @property
    def decorators(self) -> list[str]:
        if isinstance(self.node, ast.Lambda):
            return []
        return [ast.unparse(d).split("(")[0] for d in self.node.decorator_list]


@dataclass(eq=False)
class InstanceV(Value):
    cls: ClassV
    attrs: dict[str, Value] = field(default_factory=dict)


@dataclass(eq=False)
class ListV(Value):
    items: list[Value]
    is_tuple: bool = False


@dataclass(eq=False)
class DictV(Value):
    items: list[tuple[Value, Value]]


@dataclass(frozen=True, eq=False)
class RecordClassV(Value):
    """`collections.namedtuple(...)`: calling it makes a RecordV."""

    fields: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class RecordV(Value):
    attrs: dict[str, Value]


@dataclass(frozen=True, eq=False)
class BuiltinV(Value):
    name: str


@dataclass(frozen=True, eq=False)
class SuperV(Value):
    after: ClassState  # look members up in the classes after this one
    obj: Value


class MethodOf(Value):
    """A method of a list, dict or string value, e.g. `features.extend`."""

    def __init__(self, obj: Value, name: str) -> None:
        self.obj = obj
        self.name = name


@dataclass(frozen=True, eq=False)
class ChoiceV(Value):
    """One of several values, each under extra conditions (relative to where the choice was made)."""

    options: tuple[tuple[tuple[Sym, ...], Value], ...]


def same(a: Value, b: Value) -> bool:
    """The two values are known to be the same thing."""
    if a is b:
        return True
    if isinstance(a, Const) and isinstance(b, Const):
        return type(a.value) is type(b.value) and a.value == b.value
    if isinstance(a, Sym) and isinstance(b, Sym):
        return a.text == b.text
    if isinstance(a, Ref | External) and type(a) is type(b):
        return a.dotted == b.dotted  # type: ignore[union-attr]
    if isinstance(a, ModuleV) and isinstance(b, ModuleV):
        return a.name == b.name
    if isinstance(a, ClassV) and isinstance(b, ClassV):
        return a.state is b.state
    if isinstance(a, FuncV) and isinstance(b, FuncV):
        return a.node is b.node and a.bound is b.bound
    return False


def origin_of(value: Value) -> str | None:
    """The dotted name a registered object is imported by, when it has one."""
    if isinstance(value, Ref | External):
        return value.dotted
    if isinstance(value, ClassV | FuncV):
        return value.origin
    if isinstance(value, ModuleV):
        return value.name
    return None


def describe(value: Value) -> str:
    if isinstance(value, Const):
        return repr(value.value)
    if isinstance(value, Sym):
        return value.text
    if isinstance(value, Unknown):
        return f"unknown ({value.reason})"
    origin = origin_of(value)
    if origin:
        return origin
    if isinstance(value, FuncV):
        return f"local function {value.qualname}"
    return type(value).__name__
