"""One activation of a function (or a module's top level) during the collect walk."""

from __future__ import annotations

from dataclasses import dataclass, field

from patchmerge.collection.model import Site
from patchmerge.collection.values import FuncV, Sym, Value


@dataclass(eq=False)
class Frame:
    module: str
    file: str  # relative to ROOT_DIR
    env: dict[str, Value]
    conds: tuple[Sym, ...] = ()  # the path condition: ANDed, absolute
    chain: tuple[str, ...] = ()  # qualified names from the entry down to this frame
    calls: tuple[Site, ...] = ()  # the call site of each frame below the entry
    closure: Frame | None = None  # the enclosing function's frame, for nested functions
    uncertain: str | None = None  # why registrations here cannot be trusted (an unreadable branch or loop)
    is_module: bool = False  # a module's top level: env is the module's globals
    func: FuncV | None = None
    first_arg: Value | None = None  # self / cls, for zero-argument super()
    qualprefix: str = ""  # prefix for the qualname of defs made here
    entry_conds: tuple[Sym, ...] = ()
    returns: list[tuple[tuple[Sym, ...], Value]] = field(default_factory=list)
    outer_site: Site | None = None  # the registration call that forwarded here, when one did
    loop_signal: str | None = None  # "continue" / "break" just executed

    def relative_conds(self) -> tuple[Sym, ...]:
        return self.conds[len(self.entry_conds):]
