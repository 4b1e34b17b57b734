"""The collect interpreter: follows what the adaptor executes, statement by statement, from the profile's entries.

Branches on args are taken both ways under the branch condition (else branches negated, early returns narrowing
what follows); branches on what is statically known are decided; loops over known lists are unrolled. What
cannot be read is reported with file, line and reason, never guessed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from patchmerge.collection.calls import Calls
from patchmerge.collection.conditions import disjoin, negate, truth
from patchmerge.collection.evaluate import Expressions
from patchmerge.collection.frame import Frame
from patchmerge.collection.members import ClassMembers
from patchmerge.collection.model import Note, Site, Unreadable
from patchmerge.collection.registrations import Registrations
from patchmerge.collection.scope import Sources
from patchmerge.collection.texts import short
from patchmerge.collection.values import (
    ChoiceV,
    ClassV,
    Const,
    DictV,
    FuncV,
    InstanceV,
    ListV,
    ModuleV,
    Ref,
    Sym,
    Unknown,
    Value,
    same,
)
from patchmerge.profile import Profile


@dataclass(frozen=True)
class Settings:
    shapes: frozenset[str]
    apply_shapes: frozenset[str]
    arg_calls: frozenset[str]
    arg_params: frozenset[str]
    opaque: frozenset[str]
    follow_decorators: frozenset[str]
    rewritable: tuple[str, ...]
    keep_outside: bool
    direct_assignments: bool = False

    @classmethod
    def from_profile(cls, profile: Profile) -> Settings:
        c = profile.collect
        calls = frozenset(s.removesuffix("()") for s in c.args_spellings if s.endswith("()"))
        params = frozenset(s for s in c.args_spellings if not s.endswith("()"))
        return cls(frozenset(profile.registrations.calls), frozenset(c.apply_calls), calls, params,
                   frozenset(c.opaque_calls), frozenset(c.follow_decorators), profile.sources.rewritable,
                   c.keep_outside, c.direct_assignments)


class Interpreter:
    """One collect run over a tree: runs statements itself; what expressions are is `expressions`, what classes
    have `members`, calls are `calls`, registration and apply calls the `registry`. What it cannot read is
    `unreadables`, what it reports besides `notes`."""

    def __init__(self, sources: Sources, settings: Settings) -> None:
        self.sources = sources
        self.settings = settings
        self.expressions = Expressions(self)
        self.members = ClassMembers(self)
        self.calls = Calls(self, settings)
        self.registry = Registrations(self, settings)
        self.unreadables: list[Unreadable] = []
        self.notes: list[Note] = []

    def unreadable(self, frame: Frame, line: int, reason: str) -> None:
        self.unreadables.append(Unreadable(Site(frame.file, line), reason, frame.chain))

    # -- entries ---------------------------------------------------------------------------------------

    def run_entry(self, entry: str) -> None:
        file, _, qualname = entry.partition("::")
        module = self.sources.module_of_file(file)
        if module is None or not (self.sources.root / file).is_file():
            raise LookupError(f"collect entry {entry!r}: {file} is not a module file under the source roots")
        path = self.sources.module_file(module)
        rel = self.sources.rel(path) if path is not None else file
        if not qualname:
            tree = self.sources.module_ast(module)
            assert tree is not None
            module_globals = self.expressions.globals.setdefault(module, {})
            frame = Frame(module, rel, module_globals, chain=(module,), is_module=True)
            self.exec_body(tree.body, frame)
            return
        head, *rest = qualname.split(".")
        value = self.expressions.module_global(module, head)
        for part in rest:
            value = self.expressions.attribute(value, part)
        if not isinstance(value, FuncV):
            raise LookupError(f"collect entry {entry!r}: {qualname} is not a function or method in {rel} "
                              f"({value.reason if isinstance(value, Unknown) else type(value).__name__})")
        self.calls.invoke(value, [], {}, Frame(module, rel, {}, chain=()), None)

    # -- statements ------------------------------------------------------------------------------------

    def exec_body(self, stmts: list[ast.stmt], frame: Frame) -> bool:
        """Run a block; False when every path through it ends (return, raise, continue, break)."""
        for st in stmts:
            if not self.exec_stmt(st, frame):
                return False
        return True

    def exec_stmt(self, st: ast.stmt, frame: Frame) -> bool:
        if isinstance(st, ast.Expr):
            if isinstance(st.value, ast.Call):
                self.calls.call(st.value, frame, statement=True)
            return True
        if isinstance(st, ast.Assign):
            value = self.expressions.ev(st.value, frame)
            for target in st.targets:
                self.assign(target, value, frame, st)
            return True
        if isinstance(st, ast.AnnAssign):
            if st.value is not None:
                self.assign(st.target, self.expressions.ev(st.value, frame), frame, st)
            return True
        if isinstance(st, ast.AugAssign):
            return self._aug_assign(st, frame)
        if isinstance(st, ast.Import | ast.ImportFrom):
            self._import(st, frame)
            return True
        if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef):
            nested = not frame.is_module or frame.closure is not None
            origin = None if nested else f"{frame.module}.{st.name}"
            frame.env[st.name] = FuncV(st, frame.module, f"{frame.qualprefix}{st.name}", frame.file, origin,
                                       closure=None if frame.is_module else frame)
            return True
        if isinstance(st, ast.ClassDef):
            qual = f"{frame.qualprefix}{st.name}"
            state = self.expressions.class_state(st, frame.module, qual, frame.file)
            frame.env[st.name] = ClassV(state, None if not frame.is_module else f"{frame.module}.{st.name}")
            return True
        if isinstance(st, ast.If):
            return self._if(st, frame)
        if isinstance(st, ast.For | ast.AsyncFor):
            return self._for(st, frame)
        if isinstance(st, ast.While):
            return self._while(st, frame)
        if isinstance(st, ast.With | ast.AsyncWith):
            for item in st.items:
                value = self.expressions.ev(item.context_expr, frame)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, Unknown(f"`with ... as` value ({short(item.context_expr)})"),
                                frame, st)
                del value
            return self.exec_body(st.body, frame)
        if isinstance(st, ast.Try | ast.TryStar):
            return self._try(st, frame)
        if isinstance(st, ast.Return):
            value = self.expressions.ev(st.value, frame) if st.value is not None else Const(None)
            frame.returns.append((frame.relative_conds(), value))
            return False
        if isinstance(st, ast.Raise):
            return False
        if isinstance(st, ast.Continue | ast.Break):
            frame.loop_signal = "continue" if isinstance(st, ast.Continue) else "break"
            return False
        return True  # pass, global, nonlocal, del, assert, match: nothing that registers

    def _import(self, st: ast.Import | ast.ImportFrom, frame: Frame) -> None:
        if isinstance(st, ast.Import):
            for alias in st.names:
                if alias.asname:
                    frame.env[alias.asname] = self.expressions.module_value(alias.name)
                else:
                    head = alias.name.split(".")[0]
                    frame.env[head] = self.expressions.module_value(head)
            return
        source = self.sources.absolute(frame.module, st.level, st.module)
        for alias in st.names:
            if alias.name == "*":
                continue
            frame.env[alias.asname or alias.name] = Ref(f"{source}.{alias.name}")

    def assign(self, target: ast.expr, value: Value, frame: Frame, st: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            frame.env[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            items = value.items if isinstance(value, ListV) and len(value.items) == len(target.elts) else None
            for position, elt in enumerate(target.elts):
                part = items[position] if items is not None else Unknown(f"unpacking of {type(value).__name__}")
                self.assign(elt.value if isinstance(elt, ast.Starred) else elt, part, frame, st)
        elif isinstance(target, ast.Attribute):
            obj = self.expressions.ev(target.value, frame)
            if isinstance(obj, Ref):
                obj = self.expressions.materialize(obj)
            if isinstance(obj, InstanceV):
                obj.attrs[target.attr] = value
            elif isinstance(obj, ClassV):
                obj.state.attrs[target.attr] = value
                self.registry.assigned(f"{obj.state.module}.{obj.state.qualname}.{target.attr}", value, frame, st)
            elif isinstance(obj, ModuleV):
                self.expressions.globals.setdefault(obj.name, {})[target.attr] = value
                self.registry.assigned(f"{obj.name}.{target.attr}", value, frame, st)
        elif isinstance(target, ast.Subscript):
            obj = self.expressions.ev(target.value, frame)
            if isinstance(obj, ListV) and isinstance(target.slice, ast.Slice) and isinstance(value, ListV) \
                    and target.slice.lower is None and target.slice.upper is None:
                obj.items[:] = list(value.items)

    def _aug_assign(self, st: ast.AugAssign, frame: Frame) -> bool:
        if isinstance(st.target, ast.Name):
            current = self.expressions.lookup(st.target.id, frame)
            value = self.expressions.ev(st.value, frame)
            if isinstance(current, ListV) and isinstance(value, ListV) and isinstance(st.op, ast.Add):
                current.items.extend(value.items)
            elif isinstance(current, Const) and isinstance(value, Const):
                fake = ast.BinOp(left=ast.Constant(current.value), op=st.op, right=ast.Constant(value.value))
                frame.env[st.target.id] = self.expressions.ev(fake, frame)
            else:
                frame.env[st.target.id] = Unknown(f"`{short(st)}`")
        return True

    def _if(self, st: ast.If, frame: Frame) -> bool:
        test = truth(self.expressions.ev(st.test, frame))
        if isinstance(test, Const):
            return self.exec_body(st.body if test.value else st.orelse, frame)
        base_conds, base_env, base_uncertain = frame.conds, frame.env, frame.uncertain
        reason = None
        if isinstance(test, Sym):
            branches = [(st.body, (*base_conds, test)), (st.orelse, (*base_conds, negate(test)))]
        else:
            why = test.reason if isinstance(test, Unknown) else type(test).__name__
            reason = f"under `if {short(st.test)}` ({frame.file}:{st.lineno}), which cannot be read: {why}"
            branches = [(st.body, base_conds), (st.orelse, base_conds)]
        results = []
        for body, conds in branches:
            frame.conds = conds  # type: ignore[assignment]
            frame.env = base_env if frame.is_module else dict(base_env)
            frame.uncertain = base_uncertain or reason
            falls = self.exec_body(body, frame)
            results.append((falls, frame.conds, frame.env))
        frame.uncertain = base_uncertain
        live = [r for r in results if r[0]]
        if not live:
            frame.conds, frame.env = base_conds, base_env
            return False
        frame.env = live[0][2] if len(live) == 1 else self._merge(base_env, live, base_conds, frame)
        if reason is not None:
            frame.conds = base_conds
            if len(live) < 2 or any(r[1] != base_conds for r in live):
                frame.uncertain = base_uncertain or reason
            return True
        if len(live) == 1:
            frame.conds = live[0][1]
        else:
            frame.conds = (*base_conds, *disjoin([r[1][len(base_conds):] for r in live]))
        return True

    def _merge(self, base: dict[str, Value], live: list, base_conds: tuple[Sym, ...], frame: Frame) -> dict:
        if frame.is_module:
            return base
        merged: dict[str, Value] = {}
        for name in {k for _, _, env in live for k in env}:
            values = [env.get(name) for _, _, env in live]
            first = values[0]
            if first is not None and all(v is not None and same(v, first) for v in values):
                merged[name] = first
                continue
            options = tuple((conds[len(base_conds):], v if v is not None else Unknown(f"'{name}' unbound here"))
                            for (_, conds, _), v in zip(live, values, strict=True))
            merged[name] = ChoiceV(options)
        return merged

    def iterate(self, value: Value) -> list[Value] | Unknown:
        if isinstance(value, Ref):
            value = self.expressions.materialize(value)
        if isinstance(value, ListV):
            return list(value.items)
        if isinstance(value, DictV):
            return [k for k, _ in value.items]
        if isinstance(value, Unknown):
            return value
        return Unknown(f"iteration over {type(value).__name__}")

    def _for(self, st: ast.For | ast.AsyncFor, frame: Frame) -> bool:
        items = self.iterate(self.expressions.ev(st.iter, frame))
        if isinstance(items, Unknown):
            saved = frame.uncertain, frame.conds
            frame.uncertain = saved[0] or (f"in a loop over `{short(st.iter)}` ({frame.file}:{st.lineno}) that "
                                           f"cannot be unrolled: {items.reason}")
            self.assign(st.target, Unknown("loop variable of a loop that cannot be unrolled"), frame, st)
            self.exec_body(st.body, frame)
            frame.uncertain, frame.conds = saved
            frame.loop_signal = None
            return True
        for item in items:
            self.assign(st.target, item, frame, st)
            before = frame.conds
            falls = self.exec_body(st.body, frame)
            signal, frame.loop_signal = frame.loop_signal, None
            if signal is not None:
                frame.conds = before
                if signal == "break" and not falls:
                    return True
            elif not falls:
                return False
        return self.exec_body(st.orelse, frame)

    def _while(self, st: ast.While, frame: Frame) -> bool:
        test = truth(self.expressions.ev(st.test, frame))
        if isinstance(test, Const) and not test.value:
            return self.exec_body(st.orelse, frame)
        saved = frame.uncertain, frame.conds
        frame.uncertain = saved[0] or f"in a while loop ({frame.file}:{st.lineno}) that cannot be unrolled"
        self.exec_body(st.body, frame)
        frame.uncertain, frame.conds = saved
        frame.loop_signal = None
        return True

    def _try(self, st: ast.Try, frame: Frame) -> bool:
        failing = self._failing_import(st.body, frame)
        if failing is not None and st.handlers:
            falls = self.exec_body(st.handlers[0].body, frame)
        else:
            falls = self.exec_body(st.body, frame) and self.exec_body(st.orelse, frame)
        return self.exec_body(st.finalbody, frame) and falls

    def _failing_import(self, body: list[ast.stmt], frame: Frame) -> str | None:
        """An import at the top of a try body that the tree cannot satisfy (so the runtime takes the handler)."""
        for st in body:
            if isinstance(st, ast.ImportFrom):
                source = self.sources.absolute(frame.module, st.level, st.module)
                top = source.split(".")[0]
                if not self.sources.exists(top):
                    continue  # outside the source roots: taken to import
                if not self.sources.exists(source):
                    return source
                names = self.sources.bindings(source)
                for alias in st.names:
                    if alias.name != "*" and alias.name not in names and "*" not in names \
                            and not self.sources.exists(f"{source}.{alias.name}"):
                        return f"{source}.{alias.name}"
            elif isinstance(st, ast.Import):
                for alias in st.names:
                    if self.sources.exists(alias.name.split(".")[0]) and not self.sources.exists(alias.name):
                        return alias.name
        return None
