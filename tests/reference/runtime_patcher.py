"""A faithful runtime patcher (SPEC section 1): the reference a fused tree is compared against.

It applies a patch set to an *imported* tree the way MindSpeed's `patch_utils.Patch` does, with the
conditions evaluated against given args, so a differential test can run one scenario patched at runtime and
the same scenario on the fused tree. Written from the specified semantics; it imports the tree under test,
so it only runs in the subprocess of a test or a check, never in `plan` or `merge`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from patchmerge.model import Patch as PatchSpec
from patchmerge.plan.raises import patch_key, runtime_message

WRAPPER_SUFFIXES = ("wrapper", "decorator")
_UNBOUND = object()


def _import_owner(dotted: str) -> tuple[Any, str]:
    """Import the longest importable module prefix and getattr down to the owner of the last name."""
    parts = dotted.split(".")
    module: ModuleType | None = None
    consumed = 0
    for end in range(1, len(parts)):
        name = ".".join(parts[:end])
        try:
            module = importlib.import_module(name)
            consumed = end
        except ModuleNotFoundError as exc:
            if exc.name is not None and not name.startswith(exc.name):
                raise  # a genuine missing dependency inside the module, not "this prefix is no module"
            break
    if module is None:
        raise ModuleNotFoundError(f"no importable module prefix in {dotted}")
    owner: Any = module
    for part in parts[consumed:-1]:
        owner = getattr(owner, part)
    return owner, parts[-1]


@dataclass
class RuntimePatch:
    """One target's patch in one collection: a replacement and wrappers in registration order."""

    target: str
    semantics: str = "2.1.0"
    replacement: Callable[..., Any] | None = None
    wrappers: list[Callable[..., Any]] = field(default_factory=list)
    applied: bool = False
    captured_original: Any = None
    captured: bool = False

    def register(self, func: Callable[..., Any], force_patch: bool = False) -> None:
        if getattr(func, "__name__", "").endswith(WRAPPER_SUFFIXES):
            # from 2.2.0 a wrapper registered twice is kept once; the Patch is still marked for applying again
            if self.semantics == "2.1.0" or func not in self.wrappers:
                self.wrappers.append(func)
        else:
            if self.replacement is not None and not force_patch:
                raise RuntimeError(runtime_message(self.target))
            self.replacement = func
        self.applied = False

    def apply(self) -> None:
        if self.applied:
            return
        owner, name = _import_owner(self.target)
        # a module's missing name is bound to None first; a class's missing member to a fresh dummy, held nowhere
        dummy = not hasattr(owner, name) and not isinstance(owner, ModuleType)
        current = getattr(owner, name, None)
        if self.semantics == "2.1.0" or not self.captured:
            # 2.1.0 takes whatever is bound now as the original (so a re-apply wraps again); 2.2.0+ keeps the first
            self.captured_original, self.captured = current, True
        original = self.captured_original
        final = self.replacement if self.replacement is not None else original
        for wrapper in self.wrappers:
            final = wrapper(final)
        setattr(owner, name, final)
        if not dummy:  # every loaded module holding the same object under that name (None too: its id matches)
            for module in list(sys.modules.values()):
                try:  # as MindSpeed's hasattr/getattr, a module-level __getattr__ included (a lazy module's)
                    held = getattr(module, name, _UNBOUND) if module is not None else _UNBOUND
                except Exception:  # one that makes names up and fails (pytest's `py.error`): nothing held
                    held = _UNBOUND
                if held is current:
                    setattr(module, name, final)
        self.applied = True


@dataclass
class RuntimeCollection:
    """A patch collection (MegatronAdaptation, MindSpeedPatchesManager): one RuntimePatch per target."""

    semantics: str = "2.1.0"
    patches: dict[str, RuntimePatch] = field(default_factory=dict)

    def register(self, target: str, func: Callable[..., Any], force_patch: bool = False) -> None:
        patch = self.patches.setdefault(target, RuntimePatch(target, self.semantics))
        patch.register(func, force_patch)

    def apply(self) -> None:
        for patch in self.patches.values():
            patch.apply()


def condition_holds(spec: PatchSpec, args: Any) -> bool:
    namespace: dict[str, Any] = {"args": args}
    for dotted in spec.condition_import:
        owner, name = _import_owner(dotted)
        namespace[name] = getattr(owner, name)
    return all(eval(text, namespace) for text in spec.condition)  # noqa: S307 - conditions are validated input


def resolve_object(dotted: str) -> Any:
    owner, name = _import_owner(dotted)
    return getattr(owner, name)


def apply_patch_specs(specs: Iterable[PatchSpec], args: Any, semantics: str = "2.1.0") -> list[str]:
    """Register every patch whose condition holds, phase by phase, and apply; return the ids applied.

    Patches with a `collection` are registered on that collection, which lives across phases: registering on
    one of its Patches again re-applies it (the version-dependent case). Patches without one form a collection
    of their own per phase. A flattened JSON has no collections, so a later replacement whose condition holds
    wins over an earlier one (SPEC section 1): registration uses force_patch then. Elsewhere a second
    replacement on one Patch without force_patch raises, as the runtime's adaptation does.
    """
    by_phase: dict[int, list[PatchSpec]] = {}
    for spec in specs:
        by_phase.setdefault(spec.phase or 0, []).append(spec)
    named: dict[str, RuntimeCollection] = {}
    applied: list[str] = []
    for phase in sorted(by_phase):
        anonymous = RuntimeCollection(semantics)
        touched: list[RuntimeCollection] = []  # applied in the order they were first registered on
        for spec in by_phase[phase]:
            if condition_holds(spec, args):
                if spec.collection is None:
                    collection = anonymous
                else:
                    collection = named.setdefault(spec.collection, RuntimeCollection(semantics))
                if all(c is not collection for c in touched):
                    touched.append(collection)
                # where the file says which registrations share a Patch, a second replacement without
                # force_patch raises as at runtime; a flattened file lets the later one win (SPEC section 1)
                force = spec.force_patch or patch_key(spec) is None
                collection.register(spec.target, resolve_object(spec.patch_import), force_patch=force)
                applied.append(spec.id)
        for collection in touched:
            collection.apply()
    return applied
