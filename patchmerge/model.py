"""The small typed data model every stage shares: input patches, resolved definitions, plans."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Patch:
    """One registration from the input, in registration order within its target."""

    target: str  # dotted target, quotes stripped
    index: int  # 0-based position in the target's list in the input file
    patch_import: str
    patch_name: str
    condition: tuple[str, ...] = ()  # Python expressions over `args`, ANDed; empty = unconditional
    condition_import: tuple[str, ...] = ()
    force_patch: bool = False
    phase: int | None = None
    # the runtime collection it is registered on (MegatronAdaptation, ...): one Patch per target and collection
    # across phases, re-applied when registered on again; None: each phase's patches form a Patch of their own
    collection: str | None = None

    @property
    def id(self) -> str:
        return f"{self.target}#{self.index}"

    @property
    def is_conditional(self) -> bool:
        return bool(self.condition)


@dataclass
class PatchSet:
    """All patches of one input file, targets in file order, each target's patches in registration order."""

    targets: dict[str, list[Patch]]
    source: Path | None = None
    format: str = "json"
    # how each target key was spelled in the input (quotes kept), so written-back files match the input
    raw_keys: dict[str, str] = field(default_factory=dict)

    @property
    def patches(self) -> list[Patch]:
        return [p for plist in self.targets.values() for p in plist]

    def __len__(self) -> int:
        return sum(len(p) for p in self.targets.values())


class DefKind(enum.StrEnum):
    """What a dotted name turns out to be, read from source."""

    FUNCTION = "function"
    METHOD = "method"
    STATICMETHOD = "staticmethod"
    CLASSMETHOD = "classmethod"
    PROPERTY = "property"
    CLASS = "class"
    VARIABLE = "variable"  # a module- or class-level name bound by assignment or import (e.g. TENorm, ops)
    MODULE = "module"
    MISSING = "missing"  # not defined yet: the patch creates it (new function / new method)
    INHERITED = "inherited"  # a class member not written in the class body (base class, @dataclass)


@dataclass(frozen=True)
class Definition:
    """Where a dotted name is defined in the source tree.

    `module`/`qualname` name the defining place (after following re-exports); `file` is relative to
    ROOT_DIR. For MISSING, `qualname` is where it will be created (a module function or a class member)
    and `file` is the module or class file that will hold it.
    """

    dotted: str  # the name that was asked for
    kind: DefKind
    module: str  # defining module
    qualname: str  # within the defining module, e.g. "Attention.__init__" or "get_model"
    file: Path | None  # relative to ROOT_DIR; None for names outside the source roots
    line: int | None = None
    name: str = ""  # the object's __name__ as far as source tells (def/class name), else last part
    decorators: tuple[str, ...] = ()
    via: tuple[str, ...] = ()  # re-export hops followed, e.g. ("megatron.training.training.unwrap_model",)
    notes: tuple[str, ...] = ()  # fidelity-relevant facts found on the way (try/except import, ...)
    owner_class: str | None = None  # for members: qualname of the class whose body holds (or will hold) it
    external_base: str | None = None  # for INHERITED: the base the member comes from, when known


class Unresolved(Exception):
    """A dotted name that cannot be found in the source; `reason` is for people."""

    def __init__(self, dotted: str, reason: str) -> None:
        super().__init__(f"{dotted}: {reason}")
        self.dotted = dotted
        self.reason = reason


class FusionKind(enum.StrEnum):
    REPLACE = "replace"
    ROUTE = "route"
    CLASS_ROUTE = "class-route"
    WRAP = "wrap"
    NEW = "new"


@dataclass
class PlannedPatch:
    patch: Patch
    target: Definition | None
    source: Definition | None
    kind: FusionKind | None
    notes: list[str] = field(default_factory=list)
    reason: str | None = None  # set when it cannot be resolved

    @property
    def resolved(self) -> bool:
        return self.reason is None


@dataclass
class TargetPlan:
    target: str
    definition: Definition | None
    patches: list[PlannedPatch]
    notes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    root: Path
    targets: list[TargetPlan]

    @property
    def patches(self) -> list[PlannedPatch]:
        return [pp for t in self.targets for pp in t.patches]
