"""Which bindings the in-source strategy takes, and why the others fall back to the deferred strategy.

In source, a binding's chain is fixed when its module is imported, so it must not depend on anything decided
later: every patch unconditional, one Patch (no phases), one target, and a definition the runtime would
replace or wrap as a plain object (a def in a module or class body, or a name the patch creates).
"""

from __future__ import annotations

from dataclasses import dataclass

from patchmerge.fusion.sites import Mechanism, Site
from patchmerge.model import DefKind, FusionKind, PlannedPatch

# kinds whose def the runtime's getattr returns as written (a property object, the plain function of a
# staticmethod); a classmethod comes back bound and an inherited member from a base, which a def cannot show
_REPLACEABLE = (DefKind.FUNCTION, DefKind.METHOD, DefKind.STATICMETHOD, DefKind.CLASSMETHOD, DefKind.PROPERTY)
_WRAPPABLE = (DefKind.FUNCTION, DefKind.METHOD, DefKind.STATICMETHOD, DefKind.PROPERTY)


@dataclass
class Binding:
    """One site fused in source: at most one replacement, then its wrappers in registration order."""

    site: Site
    kind: DefKind  # of the target definition
    replacement: PlannedPatch | None
    wrappers: list[PlannedPatch]

    @property
    def patches(self) -> list[PlannedPatch]:
        return self.site.patches


def choose(site: Site, patch_sources: set[tuple[str, str]]) -> Binding | str:
    """The binding when the in-source strategy can take `site`, else the reason it cannot."""
    if site.mechanism is Mechanism.VALUE:
        return "a class or module value: settled when the args are set by the deferred strategy"
    if len(site.targets) != 1:
        names = ", ".join(tp.target for tp in site.targets)
        return f"several targets reach this binding ({names}); the runtime applies each target's Patch in turn"
    definition = site.targets[0].definition
    assert definition is not None
    patches = site.patches
    conditional = [pp.patch.id for pp in patches if pp.patch.is_conditional]
    if conditional:
        return f"conditional ({', '.join(conditional)}): the branches are decided by the deferred strategy"
    if len({(pp.patch.phase, pp.patch.collection) for pp in patches}) > 1:
        return "patches in several phases or collections: the runtime re-applies the Patch"
    replacements = [pp for pp in patches if pp.kind is not FusionKind.WRAP]
    wrappers = [pp for pp in patches if pp.kind is FusionKind.WRAP]
    if len(replacements) > 1:
        return "more than one replacement on one binding"
    if len({pp.patch.patch_import for pp in wrappers}) != len(wrappers):
        return "a wrapper registered more than once on one binding"
    if (definition.module, definition.qualname) in patch_sources:
        return "the original is itself registered as the patch of another target, so it must stay in the source"
    kind = definition.kind
    if kind is DefKind.MISSING:
        if wrappers:
            return "wrappers on a name the patch creates"
    elif replacements and kind not in _REPLACEABLE:
        return f"a {kind.value} target: the deferred strategy binds it"
    elif not replacements and kind not in _WRAPPABLE:
        return f"wrappers on a {kind.value}: the runtime wraps the object a lookup returns, which a def cannot show"
    for pp in patches:
        source = pp.source
        if source is None or source.file is None or source.kind is not DefKind.FUNCTION or "." in source.qualname:
            return f"{pp.patch.id}: the patch is not a module-level function in the source roots"
        if source.module == site.module:
            return f"{pp.patch.id}: the patch is defined in the target's own module"
    if site.owner_class and "." in site.owner_class:
        return "a member of a nested class"
    replacement = replacements[0] if replacements else None
    return Binding(site, kind, replacement, wrappers)
