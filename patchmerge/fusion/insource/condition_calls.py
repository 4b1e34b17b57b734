"""Conditions that call a function (`is_enable_qlora(args)`), read as an expression over the adaptor's parse.

The runtime calls the function at adaptation time. In source the condition is decided when its module is
imported, and importing the function's module there is out of the question (MindSpeed-LLM's package runs its
adaptor when imported). So the function's body is evaluated on the source with `args` the adaptor's parse:
where it only tests and reads options, and builds and parses an argparse parser of its own from the command
line, it equals an expression over the adaptor's options and that parse, which the runtime helper makes
(`argv_<hash>()`, parsed once per process: the command line does not change between two calls). Anything else
(another call, a loop, state) is not guessed: the reason is given and the binding falls back.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from patchmerge.fusion.insource.adaptor_args import AdaptorArgs
from patchmerge.fusion.insource.function_eval import (
    ArgvParse,
    Evaluator,
    FunctionSource,
    Unreadable,
    as_expression,
    condition_value,
)
from patchmerge.model import Definition, DefKind, PlannedPatch

__all__ = ["ArgvParse", "FunctionSource", "Reduced", "read_condition_calls", "reduce_condition"]


@dataclass(frozen=True)
class Reduced:
    """A condition with its function calls written out: over `args` (the adaptor's parse) and the helper's
    parses of the command line."""

    text: str
    parses: tuple[ArgvParse, ...]


def reduce_condition(
    text: str, condition_import: tuple[str, ...], find: Callable[[str], FunctionSource | str], adaptor: AdaptorArgs
) -> Reduced | str:
    """`text` with each call of a condition_import function replaced by what it returns, or why it cannot be."""
    functions = {dotted.rsplit(".", 1)[-1]: dotted for dotted in condition_import}
    tree = ast.parse(text.strip(), mode="eval")
    parses: dict[str, ArgvParse] = {}
    tested = _truth_context(tree.body)

    class Calls(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.expr:  # noqa: N802 - ast's interface
            if not (isinstance(node.func, ast.Name) and node.func.id in functions):
                return self.generic_visit(node)  # type: ignore[return-value]
            found = find(functions[node.func.id])
            if isinstance(found, str):
                raise Unreadable(found)
            evaluator = Evaluator(found, adaptor)
            value = evaluator.call([condition_value(a) for a in node.args],
                                   {k.arg: condition_value(k.value) for k in node.keywords if k.arg})
            parses.update((p.name, p) for p in evaluator.parses)
            expression = as_expression(value)
            return _truthy(expression) if id(node) in tested else expression

    try:
        reduced = Calls().visit(tree)
        left = sorted({n.id for n in ast.walk(reduced) if isinstance(n, ast.Name) and n.id in functions})
        if left:
            raise Unreadable(f"{', '.join(left)} is used other than by a call")
    except Unreadable as exc:
        return str(exc)
    return Reduced(ast.unparse(ast.fix_missing_locations(reduced)), tuple(parses.values()))


# what the evaluation handles besides constants and expressions: the adaptor's parse, a parser being built, the
# result of its parse_known_args (a pair) and of the first element of that pair, modules and names it may call
def _truth_context(node: ast.expr) -> set[int]:
    """The nodes whose truth alone counts (the condition, what `and`/`or`/`not` combine there, an if's test)."""
    found = {id(node)}
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            found |= _truth_context(value)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        found |= _truth_context(node.operand)
    elif isinstance(node, ast.IfExp):
        found |= _truth_context(node.test)
    return found


def _truthy(node: ast.expr) -> ast.expr:
    """The same truth value, easier to read, where only truth matters: `True if c else e` is `c or e`, and
    `c or False` is `c`."""
    if isinstance(node, ast.IfExp) and isinstance(node.body, ast.Constant) and node.body.value is True:
        return _truthy(ast.BoolOp(ast.Or(), [node.test, node.orelse]))
    if isinstance(node, ast.IfExp) and isinstance(node.orelse, ast.Constant) and node.orelse.value is False:
        return _truthy(ast.BoolOp(ast.And(), [node.test, node.body]))
    if isinstance(node, ast.BoolOp):
        neutral = isinstance(node.op, ast.And)  # a true operand changes nothing in `and`, a false one in `or`
        values = [_truthy(v) for v in node.values]
        kept = [v for v in values if not (isinstance(v, ast.Constant) and bool(v.value) is neutral)] or values[-1:]
        return kept[0] if len(kept) == 1 else ast.BoolOp(node.op, kept)
    return node


def read_condition_calls(
    patches: list[PlannedPatch], adaptor: AdaptorArgs, resolve: Callable[[str], Definition | None],
    read: Callable[[Path], str],
) -> None:
    """Each conditional patch's conditions with their calls written out, into `adaptor` (or why not)."""
    parsed: dict[Path, ast.Module] = {}

    def find(dotted: str) -> FunctionSource | str:
        definition = resolve(dotted)
        if definition is None or definition.file is None or definition.kind is not DefKind.FUNCTION:
            return f"{dotted} is not a function in the source roots"
        if "." in definition.qualname:
            return f"{dotted} is not a module-level function"
        if definition.file not in parsed:
            parsed[definition.file] = ast.parse(read(definition.file))
        module = parsed[definition.file]
        binders = [s for s in module.body if definition.qualname in _top_level_names(s)]
        if len(binders) != 1:
            return f"{dotted} is bound {len(binders)} times at the top of {definition.file.as_posix()}"
        for statement in binders:
            if isinstance(statement, ast.FunctionDef) and statement.name == definition.qualname:
                if statement.decorator_list:
                    return f"{dotted} is decorated"
                where = f"{definition.file.as_posix()}:{statement.lineno}"
                return FunctionSource(statement, parsed[definition.file], where)
        return f"{dotted}: no plain def of it in {definition.file.as_posix()}"

    for pp in patches:
        if not pp.patch.condition_import or pp.patch.id in adaptor.calls_read or pp.patch.id in adaptor.calls_unread:
            continue
        texts = []
        for text in pp.patch.condition:
            reduced = reduce_condition(text, pp.patch.condition_import, find, adaptor)
            if isinstance(reduced, str):
                adaptor.calls_unread[pp.patch.id] = reduced
                break
            texts.append(reduced.text)
            adaptor.argv_parses.update((parse.name, parse.render()) for parse in reduced.parses)
        else:
            adaptor.calls_read[pp.patch.id] = tuple(texts)


def _top_level_names(statement: ast.stmt) -> set[str]:
    """The names a module-level statement binds (defs, classes, assignments, imports; nested blocks too)."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    names: set[str] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names
