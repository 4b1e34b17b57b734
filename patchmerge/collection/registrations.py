"""Registration and apply calls met during the walk: what each registers, under which conditions, in which phase."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from patchmerge.collection.conditions import split
from patchmerge.collection.frame import Frame
from patchmerge.collection.model import DIRECT_ASSIGNMENT, Note, Provenance, Registration, Site, Unreadable
from patchmerge.collection.texts import dotted_text, short
from patchmerge.collection.values import (
    ChoiceV,
    ClassV,
    Const,
    External,
    FuncV,
    InstanceV,
    Ref,
    Sym,
    Unknown,
    Value,
    describe,
    origin_of,
)
from patchmerge.formats.records import _DOTTED

if TYPE_CHECKING:
    from patchmerge.collection.walker import Interpreter, Settings


@dataclass
class _Pending:
    registration: Registration
    phase: float | None = None


@dataclass
class PhaseBook:
    """Registrations in order; each gets the number of the apply call that applies it."""

    done: list[_Pending] = field(default_factory=list)
    pending: dict[str, list[_Pending]] = field(default_factory=dict)
    counter: int = 0


class Registrations:
    """The registration and apply calls the run meets: each registration with its conditions, the apply call
    that applies it (its phase), and the registration call sites visited."""

    def __init__(self, run: Interpreter, settings: Settings) -> None:
        self.run = run
        self.settings = settings
        self.book = PhaseBook()
        self.visited: set[Site] = set()
        self.outside: list[Registration] = []
        self._forwarding: dict[int, bool] = {}

    # -- registrations ---------------------------------------------------------------------------------

    def register(self, node: ast.Call, receiver: Value | None, method: Value | None, frame: Frame) -> None:
        site = Site(frame.file, node.lineno)
        self.visited.add(site)
        args, kwargs = self.run.calls.arguments(node, frame)
        if isinstance(method, FuncV) and self._forwards(method):
            # a registration method that itself registers on another collection (MindSporeAdaptation.register
            # -> MegatronAdaptation.register): follow it, so defaults and the real collection are used
            self.run.calls.invoke(method, args, kwargs, frame, node, outer_site=frame.outer_site or site)
            return
        outer = frame.outer_site or site
        target_v, func_v, force_v = self._parts(method, args, kwargs)
        target_text = short(node.args[0]) if node.args else "?"
        if not (isinstance(target_v, Const) and isinstance(target_v.value, str)):
            self._bad(frame, outer, f"the target `{target_text}` is computed ({describe(target_v)}); "
                                    "collect reads only literal targets")
            return
        target = target_v.value
        collection = self._collection(receiver, node)
        if target.split(".")[0] not in self.settings.rewritable and not self.settings.keep_outside:
            self.outside.append(self._make(target, func_v, (), False, collection, outer, site, frame))
            return
        if not _DOTTED.match(target):
            self._bad(frame, outer, f"the target {target!r} is not a dotted name like 'package.module.name'")
            return
        if frame.uncertain:
            self._bad(frame, outer, f"{target}: registered {frame.uncertain}")
            return
        if not (isinstance(force_v, Const) and isinstance(force_v.value, bool)):
            self._bad(frame, outer, f"{target}: force_patch is not a constant ({describe(force_v)})")
            return
        options = func_v.options if isinstance(func_v, ChoiceV) else (((), func_v),)
        for extra, value in options:
            if isinstance(value, Const) and value.value is None:
                self._bad(frame, outer, f"{target}: registered without a patch function (a dummy the runtime "
                                        "creates); nothing to fuse")
                continue
            if origin_of(value) is None or isinstance(value, Unknown) or not _DOTTED.match(origin_of(value) or ""):
                what = describe(value)
                self._bad(frame, outer, f"{target}: the patch `{short(node.args[1]) if len(node.args) > 1 else '?'}`"
                                        f" is not an importable name ({what})")
                continue
            self._add(self._make(target, value, (*frame.conds, *extra), force_v.value, collection, outer, site,
                                 frame))

    def _bad(self, frame: Frame, site: Site, reason: str) -> None:
        self.run.unreadables.append(Unreadable(site, reason, frame.chain))

    def _forwards(self, method: FuncV) -> bool:
        key = id(method.node)
        if key not in self._forwarding:
            self._forwarding[key] = any(
                isinstance(n, ast.Call) and (dotted_text(n.func) or "") in self.settings.shapes
                for n in ast.walk(method.node)
            )
        return self._forwarding[key]

    def _parts(self, method: Value | None, args: list[Value],
               kwargs: dict[str, Value]) -> tuple[Value, Value, Value]:
        if isinstance(method, FuncV):
            env = self.run.calls.bind_parameters(method, args, kwargs)
            names = [a.arg for a in [*method.node.args.posonlyargs, *method.node.args.args]]
            if method.bound is not None:
                names = names[1:]
            target = env.get(names[0], Unknown("no target")) if names else Unknown("no target")
            func = env.get(names[1], Const(None)) if len(names) > 1 else Const(None)
            return target, func, env.get("force_patch", Const(False))
        target = args[0] if args else kwargs.get("orig_func_name", Unknown("no target"))
        func = args[1] if len(args) > 1 else kwargs.get("new_func", Const(None))
        force = args[2] if len(args) > 2 else kwargs.get("force_patch", Const(False))
        return target, func, force

    def _collection(self, receiver: Value | None, node: ast.Call) -> str:
        cls = receiver.cls if isinstance(receiver, InstanceV) else receiver
        if isinstance(cls, ClassV):
            return f"{cls.state.module}.{cls.state.qualname}"
        func = node.func
        return dotted_text(func.value) or "?" if isinstance(func, ast.Attribute) else dotted_text(func) or "?"

    def _make(self, target: str, func: Value, conds: tuple[Sym, ...], force: bool, collection: str, outer: Site,
              site: Site, frame: Frame) -> Registration:
        parts = split(conds)
        imports = sorted({name for c in parts for name in c.imports})
        provenance = Provenance(outer, frame.chain, frame.calls, collection, inner=site if site != outer else None)
        return Registration(target, origin_of(func) or describe(func), tuple(c.text for c in parts),
                            tuple(imports), force, collection, provenance)

    def assigned(self, dotted: str, value: Value, frame: Frame, st: ast.stmt) -> None:
        """`module.name = value` or `Class.name = value` run by the walk: a patch assigned directly (not through a
        registration) where it is an importable object of a rewritable module, set from adaptor code."""
        if dotted.split(".")[0] not in self.settings.rewritable or frame.is_module and frame.func is None \
                and not frame.chain:
            return
        site = Site(frame.file, st.lineno)
        if not self.settings.direct_assignments:
            if origin_of(value) is not None:
                self.run.notes.append(Note(site, "direct-assignment", f"{dotted} = {describe(value)} (not "
                                                                      "collected: collect.direct_assignments is off)"))
            return
        named = (FuncV, ClassV, Ref, External)
        if not isinstance(value, named) and not (
                isinstance(value, ChoiceV) and any(isinstance(v, named) for _, v in value.options)):
            return  # plain data (a flag, a number, a loaded extension): not a patch
        self._direct(dotted, value, frame, site)

    def _direct(self, dotted: str, value: Value, frame: Frame, site: Site) -> None:
        """`Class.attr = f` executed by the walk: a replacement that takes effect at once, so it lands in a phase
        of its own, after the patches applied so far and before those the next apply call applies."""
        if frame.uncertain:
            self._bad(frame, site, f"{dotted}: assigned directly {frame.uncertain}")
            return
        options = value.options if isinstance(value, ChoiceV) else (((), value),)
        for extra, option in options:
            if not _DOTTED.match(origin_of(option) or ""):
                self._bad(frame, site, f"{dotted}: assigned directly a value that is not an importable name "
                                       f"({describe(option)})")
                continue
            reg = self._make(dotted, option, (*frame.conds, *extra), True, DIRECT_ASSIGNMENT, site, site, frame)
            self.book.done.append(_Pending(reg, phase=self.book.counter - 0.5))  # type: ignore[arg-type]

    def _add(self, registration: Registration) -> None:
        pending = _Pending(registration)
        self.book.done.append(pending)
        self.book.pending.setdefault(registration.collection, []).append(pending)

    # -- apply calls -----------------------------------------------------------------------------------

    def apply(self, receiver: Value | None, text: str, frame: Frame, node: ast.Call) -> None:
        collection = self._collection(receiver, node)
        pending = self.book.pending.pop(collection, [])
        for item in pending:
            item.phase = self.book.counter
        if pending:
            self.book.counter += 1

    def collected(self) -> tuple[list[Registration], list[Registration]]:
        """(every registration with its phase, those no apply call applied after they were registered)."""
        out: list[Registration] = []
        never: list[Registration] = []
        for item in self.book.done:
            if item.phase is None:
                never.append(item.registration)
            out.append(_with_phase(item.registration, item.phase if item.phase is not None else self.book.counter))
        return out, never


def _with_phase(reg: Registration, phase: float) -> Registration:
    return replace(reg, phase=phase)
