"""Module state a moved function rebinds (`global X` then `X = ...`): written through its module instead.

At run time the patch's `global X` rebinds X in the patch module, where the rest of MindSpeed reads it. Moved
into Megatron, the same statement would rebind a global of the Megatron module. So each store of X becomes a
store of the attribute (`mindspeed.core.parallel_state.X = ...`), as each read of it already is, and the
`global` statement goes: the patch module keeps the one binding of its state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.walk import descendants


def declared_global(node: cst.CSTNode) -> set[str]:
    """The names any function inside `node` declares `global`."""
    return {item.name.value for child in descendants(node) if isinstance(child, cst.Global) for item in child.names}


class _Stores(cst.CSTVisitor):
    """For each Name that a plain assignment form binds, the innermost function it runs in; the names a form
    an attribute cannot take binds (walrus, import, def, class, except-as, del)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.functions: list[cst.FunctionDef] = []
        self.plain: dict[int, cst.FunctionDef] = {}
        self.imports: dict[int, tuple[cst.FunctionDef, str]] = {}  # `import a.b` binding `a`: function, "a.b"
        self.refused: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value in self.names and self.functions:
            self.refused.append(f"def {node.name.value}")
        self.functions.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    def _targets(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name) and target.value in self.names and self.functions:
            self.plain[id(target)] = self.functions[-1]
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._targets(element.value)
        elif isinstance(target, cst.StarredElement):
            self._targets(target.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._targets(node.name)

    def visit_Import(self, node: cst.Import) -> None:
        bound = {item.evaluated_alias or item.evaluated_name.split(".")[0] for item in node.names}
        if not bound & self.names or not self.functions:
            return
        item = node.names[0]
        if len(node.names) == 1 and item.asname is None:
            self.imports[id(node)] = (self.functions[-1], item.evaluated_name)
        else:
            self.refused.append(f"an import of {', '.join(sorted(bound & self.names))}")

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._refuse(node.target, "an assignment expression")

    def visit_Del(self, node: cst.Del) -> None:
        self._refuse(node.target, "del")

    def _refuse(self, target: cst.BaseExpression, form: str) -> None:
        if isinstance(target, cst.Name) and target.value in self.names:
            self.refused.append(f"{form} of {target.value}")


@dataclass
class Stores:
    """The stores into module state in moved code, each with the function it runs in."""

    names: dict[int, cst.FunctionDef] = field(default_factory=dict)  # id of a Name assigned to
    imports: dict[int, tuple[cst.FunctionDef, str]] = field(default_factory=dict)  # id of `import a.b`: "a.b"


def global_stores(node: cst.CSTNode, names: set[str], stores: list[cst.CSTNode], module: str) -> Stores:
    """Each store into module state `names` among `stores` (the scope analysis' global assignments inside
    `node`), with the function it runs in; CannotMove for a form an attribute cannot take (a def or class of
    that name, an import with an alias, a walrus, an except-as or a del)."""
    if not names and not stores:
        return Stores()  # no state to look for: the walk below would find nothing
    finder = _Stores(names)
    node.visit(finder)
    if finder.refused:
        raise CannotMove(f"{finder.refused[0]} rebinds module state of {module} in a form an attribute cannot take")
    out = Stores()
    for store in stores:
        if id(store) in finder.imports:
            out.imports[id(store)] = finder.imports[id(store)]
            continue
        function = finder.plain.get(id(store))
        if function is None:
            name = store.value if isinstance(store, cst.Name) else "a name"
            raise CannotMove(f"{name} is bound as module state of {module} in a form an attribute cannot take")
        out.names[id(store)] = function
    return out


def import_as_assignment(statement: cst.Import, module: str) -> cst.Assign:
    """`import a.b`, which binds `a`, as the assignment it is, to `module`'s attribute: `module.a = __import__("a.b")`
    (`__import__` is what the statement itself calls)."""
    dotted = statement.names[0].evaluated_name
    target = cst.parse_expression(f"{module}.{dotted.split('.')[0]}")
    return cst.Assign(targets=[cst.AssignTarget(target=target)], value=cst.parse_expression(f"__import__({dotted!r})"))


class DropGlobals(cst.CSTTransformer):
    """Remove the `global` statements of names now written through their module."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def leave_Global(
        self, original_node: cst.Global, updated_node: cst.Global
    ) -> cst.Global | cst.RemovalSentinel:
        kept = [item for item in updated_node.names if item.name.value not in self.names]
        if not kept:
            return cst.RemoveFromParent()
        last = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=[*kept[:-1], last])
