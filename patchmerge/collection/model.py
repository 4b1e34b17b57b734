"""What `collect` finds: registrations in runtime order, with where each came from, and what it could not read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from patchmerge.model import PatchSet


@dataclass(frozen=True)
class Site:
    file: str  # relative to ROOT_DIR
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Provenance:
    """Where one collected patch was registered and how the entry reached it."""

    site: Site  # the registration call a person reads (the outermost matched call)
    chain: tuple[str, ...]  # functions from the entry down to the one holding the registration
    calls: tuple[Site, ...]  # the call sites along the chain (one fewer than the chain, or equal with the entry)
    collection: str  # the patch collection it was registered on (class dotted name, or the receiver text)
    inner: Site | None = None  # the registration it forwards to, when the matched call is a forwarding wrapper

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "file": self.site.file,
            "line": self.site.line,
            "chain": " -> ".join(self.chain),
            "calls": [str(s) for s in self.calls],
            "collection": self.collection,
        }
        if self.inner is not None:
            out["forwarded_to"] = str(self.inner)
        return out


@dataclass(frozen=True)
class Unreadable:
    """A registration (or a call that may register) collect could not read statically; never guessed."""

    site: Site
    reason: str
    chain: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"file": self.site.file, "line": self.site.line, "reason": self.reason, "chain": " -> ".join(self.chain)}


@dataclass(frozen=True)
class Dead:
    """A registration in a registration file that no path from the entries reaches."""

    site: Site
    target: str  # the first argument's source text

    def to_json(self) -> dict[str, object]:
        return {"file": self.site.file, "line": self.site.line, "target": self.target}


DIRECT_ASSIGNMENT = "<direct assignment>"  # the collection of `Class.attr = f`: no Patch, no re-application


@dataclass(frozen=True)
class Registration:
    """One executed registration, before targets are grouped."""

    target: str
    patch_import: str
    conditions: tuple[str, ...]
    condition_imports: tuple[str, ...]
    force_patch: bool
    collection: str
    provenance: Provenance
    phase: float | None = None  # a direct assignment sits between two apply calls


@dataclass(frozen=True)
class Note:
    """Something worth knowing that is not a patch: a direct monkey-patch assignment, a patch never applied."""

    site: Site
    kind: str
    text: str

    def to_json(self) -> dict[str, object]:
        return {"file": self.site.file, "line": self.site.line, "kind": self.kind, "text": self.text}


@dataclass
class CollectResult:
    patch_set: PatchSet
    provenance: dict[str, Provenance]  # patch id TARGET#INDEX -> where it came from
    unreadable: list[Unreadable] = field(default_factory=list)
    dead: list[Dead] = field(default_factory=list)
    outside: list[Registration] = field(default_factory=list)  # targets outside sources.rewritable (left out)
    notes: list[Note] = field(default_factory=list)
    files_read: int = 0
    paths_read: tuple[Path, ...] = ()  # the files parsed, for benchmarks and diagnostics
    phases: int = 0
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.unreadable
