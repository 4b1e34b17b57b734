"""Find patch registrations in adaptor/feature files, and disable the ones whose patch was fused.

A registration is a call such as ``MegatronAdaptation.register('a.b.f', new_f, force_patch=True)`` or
``patch_manager.register_patch('a.b.f', new_f)``; which callee shapes count comes from the profile.
Disabling keeps the code valid and readable: the statement becomes ``pass`` and the original call stays above it
as ``# patchmerge: fused: ...`` comment lines, so a block whose only statement was the call stays a block, and a
second run finds nothing left to disable.

Names are resolved with libcst's ``QualifiedNameProvider`` (scope analysis handles function-local imports,
aliases, ``import a.b as c`` + ``c.f``); relative names are made absolute against the file's package with
``get_absolute_module_from_package``. (``FullyQualifiedNameProvider`` would do both, but it raises for the whole
file on one relative import above the top package, and it resolves every name, where we need a handful.)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_absolute_module_from_package, get_full_name_for_node
from libcst.metadata import (
    MetadataWrapper,
    PositionProvider,
    QualifiedName,
    QualifiedNameProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from patchmerge.errors import PatchmergeError
from patchmerge.source.modules import package_of

DEFAULT_MARKER = "patchmerge: fused"
COMPUTED_TARGET = "<computed>"  # the target of a registration call whose target is not a literal

# Parameter names of MindSpeed's Patch.register / register_patch, in positional order.
_TARGET_KW = "orig_func_name"
_NEW_FUNC_KW = "new_func"
_FORCE_KW = "force_patch"
_POSITIONS = (_TARGET_KW, _NEW_FUNC_KW, _FORCE_KW)


class RegistrationFileError(PatchmergeError):
    """A registration file that libcst cannot parse."""


@dataclass(frozen=True)
class Registration:
    file: Path
    line: int
    call: str  # the matched callee shape, e.g. "MegatronAdaptation.register"
    target: str  # quotes stripped
    patch_import: str | None  # dotted name new_func refers to; None when it cannot be resolved statically
    local_name: str | None  # source text of the new_func argument
    force_patch: bool
    # in a `try` that catches ImportError (its body, handlers or else): made or not as imports work or fail
    import_guarded: bool = False


def find_registrations(
    source: str, file: Path, module: str, calls: Sequence[str], analysis: RegistrationAnalysis | None = None
) -> list[Registration]:
    """Every call in `source` whose callee is spelt exactly as one of `calls` and whose target is a literal."""
    found = (analysis or analyse(source, file, module, calls)).registrations
    return [reg for _, reg in found.values()]


def analyse(source: str, file: Path, module: str, calls: Sequence[str]) -> RegistrationAnalysis:
    """Parse and analyse a file once, for several find/disable passes over the same text."""
    return RegistrationAnalysis(source, file, module, calls)


def disable_registrations(
    source: str,
    file: Path,
    module: str,
    calls: Sequence[str],
    fused: Collection[tuple[str, str]],
    marker: str = DEFAULT_MARKER,
    analysis: RegistrationAnalysis | None = None,
    computed_lines: Collection[int] = (),
) -> tuple[str, list[Registration]]:
    """Comment out (and replace by ``pass``) each registration whose (target, patch_import) is in `fused`, and
    each computed-target registration call on one of `computed_lines` (returned with target COMPUTED_TARGET).

    A matching call that is not a statement of its own (part of an expression, an assignment, or one of several
    statements on a line) is left as it is and not returned, so the caller reports that patch as not fused.
    """
    wanted = {(_strip_quotes(target), patch) for target, patch in fused}
    analysis = analysis or analyse(source, file, module, calls)
    to_disable = {
        key: reg
        for key, (_, reg) in analysis.registrations.items()
        if reg.patch_import is not None and (reg.target, reg.patch_import) in wanted
    }
    for line in computed_lines:
        if line in analysis.computed_calls:
            node, reg = analysis.computed_calls[line]
            to_disable[id(node)] = reg
    if not to_disable:
        return source, []
    disabler = _Disabler(analysis.wrapper.module, to_disable, marker)
    new_module = analysis.wrapper.visit(disabler)
    disabled = sorted(disabler.disabled, key=lambda reg: reg.line)
    return (new_module.code if disabled else source), disabled


def _strip_quotes(target: str) -> str:
    # patch JSON keys may carry their own quotes: "'megatron.x.f'"
    return target.strip().strip("'\"")


def _may_register(source: str, calls: Sequence[str]) -> bool:
    # skip libcst's scope analysis (the costly part) for files that cannot hold a registration
    return any(call.rpartition(".")[2] in source for call in calls)


class RegistrationAnalysis:
    """One parse and one metadata pass of a file; registrations keyed by the id of their Call node."""

    def __init__(self, source: str, file: Path, module: str, calls: Sequence[str]) -> None:
        self.file = file
        self.module = module
        self.package = package_of(module, file.name == "__init__.py")
        self.registrations: dict[int, tuple[cst.Call, Registration]] = {}
        self.computed: list[int] = []  # lines of registrations whose target is not a literal (a loop, a variable)
        self.computed_calls: dict[int, tuple[cst.Call, Registration]] = {}
        try:
            tree = cst.parse_module(source)
        except cst.ParserSyntaxError as exc:
            raise RegistrationFileError(f"cannot parse: {exc.message} (line {exc.raw_line})", where=str(file)) from None
        self.wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)  # parsed just now: nothing else holds it
        if not _may_register(source, calls):
            return
        collector = _Collector(self, frozenset(calls))
        self.wrapper.visit(collector)


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ScopeProvider)

    def __init__(self, analysis: RegistrationAnalysis, calls: frozenset[str]) -> None:
        super().__init__()
        self.analysis = analysis
        self.calls = calls
        # `name = 'literal'` statements seen so far, by the id of the bound Name node
        self.literal_bindings: dict[int, str] = {}
        self.import_guarded: set[int] = set()  # ids of the calls in a try that catches ImportError

    def visit_Try(self, node: cst.Try) -> None:
        if any(_catches_import_errors(handler) for handler in node.handlers):  # the body, handlers and else
            parts = [node.body, *node.handlers, *([node.orelse] if node.orelse else [])]
            self.import_guarded |= {id(call) for part in parts for call in m.findall(part, m.Call())}

    def visit_Assign(self, node: cst.Assign) -> None:
        value = _literal_string(node.value)
        if value is not None and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self.literal_bindings[id(node.targets[0].target)] = value

    def _literal_name(self, name: cst.Name) -> str | None:
        """The literal a name holds when its scope binds it exactly once, by a plain `name = 'literal'` seen
        before the call (`target = 'megatron.x.f'` then `register(target, f)`). Any other binding anywhere in the
        scope (a loop target, a tuple or walrus target, a parameter, a `global` write elsewhere) makes it
        unknown, and the registration then counts as having a computed target."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        bindings = list(scope.assignments[name.value])
        if len(bindings) != 1 or bindings[0].scope is not scope:
            return None
        return self.literal_bindings.get(id(getattr(bindings[0], "node", None)))

    def visit_Call(self, node: cst.Call) -> None:
        shape = get_full_name_for_node(node.func)
        if shape not in self.calls:
            return
        args = _bind_args(node)
        if args is None:
            return
        target = args.get(_TARGET_KW)
        target_value = _literal_string(target) if target is not None else None
        if target_value is None and isinstance(target, cst.Name):
            target_value = self._literal_name(target)
        if target_value is None:  # a computed target cannot be matched against a patch JSON
            line = self.get_metadata(PositionProvider, node).start.line
            self.analysis.computed.append(line)
            self.analysis.computed_calls[line] = (
                node,
                Registration(self.analysis.file, line, shape, COMPUTED_TARGET, None, None, False),
            )
            return
        new_func = args.get(_NEW_FUNC_KW)
        force = args.get(_FORCE_KW)
        registration = Registration(
            file=self.analysis.file,
            line=self.get_metadata(PositionProvider, node).start.line,
            call=shape,
            target=_strip_quotes(target_value),
            patch_import=self._resolve(new_func) if new_func is not None else None,
            local_name=self.analysis.wrapper.module.code_for_node(new_func) if new_func is not None else None,
            force_patch=isinstance(force, cst.Name) and force.value == "True",
            import_guarded=id(node) in self.import_guarded,
        )
        self.analysis.registrations[id(node)] = (node, registration)

    def _resolve(self, expr: cst.BaseExpression) -> str | None:
        if not isinstance(expr, cst.Name | cst.Attribute):
            return None  # a lambda, a call result, a subscript: not a name anyone can import
        names = self.get_metadata(QualifiedNameProvider, expr, set())
        dotted = {name for name in map(self._absolute, names) if name is not None}
        # several candidates (e.g. a try/except import) would be a guess
        return dotted.pop() if len(dotted) == 1 else None

    def _absolute(self, qualified: QualifiedName) -> str | None:
        name = qualified.name
        if qualified.source is QualifiedNameSource.BUILTIN or "<locals>" in name:
            return None  # a builtin or a function-local object: nothing a patch JSON can name
        if qualified.source is QualifiedNameSource.LOCAL:
            return f"{self.analysis.module}.{name}" if self.analysis.module else name
        dots = len(name) - len(name.lstrip("."))
        if not dots:
            return name
        # None when the import climbs above the top package (Python would fail too)
        return get_absolute_module_from_package(self.analysis.package, name[dots:] or None, dots)


_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def _catches_import_errors(handler: cst.ExceptHandler) -> bool:
    """A bare `except:`, or one naming ImportError or a class it derives from."""
    if handler.type is None:
        return True
    names = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
    return any(get_full_name_for_node(getattr(n, "value", n)) in _IMPORT_ERRORS for n in names)


def _bind_args(call: cst.Call) -> dict[str, cst.BaseExpression] | None:
    """Map the call's arguments onto register's parameters; None for *args/**kwargs we cannot see through."""
    bound: dict[str, cst.BaseExpression] = {}
    for position, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is not None:
            bound[arg.keyword.value] = arg.value
        elif position < len(_POSITIONS):
            bound[_POSITIONS[position]] = arg.value
    return bound


def _literal_string(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.SimpleString | cst.ConcatenatedString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _sole_call(body: Sequence[cst.BaseSmallStatement]) -> cst.Call | None:
    """The call when it is the only statement of a line, else None (then it is left alone)."""
    if len(body) != 1 or not isinstance(body[0], cst.Expr):
        return None
    value = body[0].value
    return value if isinstance(value, cst.Call) else None


class _Disabler(cst.CSTTransformer):
    def __init__(self, module: cst.Module, to_disable: dict[int, Registration], marker: str) -> None:
        super().__init__()
        self.module = module
        self.to_disable = to_disable
        self.prefix = f"# {marker}: "
        self.disabled: list[Registration] = []

    def _take(self, body: Sequence[cst.BaseSmallStatement]) -> list[cst.EmptyLine] | None:
        call = _sole_call(body)
        registration = self.to_disable.get(id(call)) if call is not None else None
        if registration is None:
            return None
        self.disabled.append(registration)
        text = self.module.code_for_node(body[0])
        return [
            cst.EmptyLine(comment=cst.Comment((self.prefix + line).rstrip()))
            for line in text.strip("\r\n").splitlines()
        ]

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        comments = self._take(original_node.body)
        if comments is None:
            return updated_node
        # a trailing comment on the call's line (a lint directive, say) stays on the pass line
        return updated_node.with_changes(body=[cst.Pass()], leading_lines=[*updated_node.leading_lines, *comments])

    def leave_SimpleStatementSuite(
        self, original_node: cst.SimpleStatementSuite, updated_node: cst.SimpleStatementSuite
    ) -> cst.BaseSuite:
        # `if args.x: register(...)` on one line: comments cannot sit inside it, so open an indented block
        comments = self._take(original_node.body)
        if comments is None:
            return updated_node
        line = cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=comments)
        return cst.IndentedBlock(body=[line], header=updated_node.trailing_whitespace)
