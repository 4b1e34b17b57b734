"""Where each target's fused code goes, and which runtime mechanism binds it.

A *site* is one binding the runtime would change: a module attribute or a class member. Targets that reach
the same object under the same name share a site, and their patches then stack in target order, as the
runtime's Patches do (SPEC section 7).
"""

from __future__ import annotations

from patchmerge.model import DefKind, TargetPlan
from patchmerge.plugin_types import Mechanism, Site
from patchmerge.source.tree import SourceTree

__all__ = ["Mechanism", "Site", "SiteError", "group_sites", "site_for"]

_VALUE_KINDS = (DefKind.CLASS, DefKind.VARIABLE)


class SiteError(Exception):
    """The target cannot be given a site (the reason is for the report)."""


def site_for(tp: TargetPlan, tree: SourceTree) -> Site:
    definition = tp.definition
    assert definition is not None
    sources = [pp.source for pp in tp.patches if pp.resolved and pp.source is not None]
    replaced_by_class = any(s.kind is DefKind.CLASS for s in sources)
    if definition.owner_class:
        if definition.file is None:
            raise SiteError(f"class {definition.owner_class} is outside the source roots")
        name = definition.qualname.rsplit(".", 1)[-1]
        return Site(definition.file, definition.module, name, definition.owner_class, Mechanism.MEMBER)
    target_name = tp.target.rsplit(".", 1)[-1]
    mechanism = Mechanism.VALUE if definition.kind in _VALUE_KINDS or replaced_by_class else Mechanism.FUNCTION
    defined_name = definition.qualname.rsplit(".", 1)[-1]
    # A function is fused where it is defined, so every importer gets the stand-in before any call. A class or
    # value is settled when the args are set, exactly as the runtime patches it: rebound in the target's module
    # and in every module holding the same object under the same name. So it goes where the target names it,
    # which also works when the defining module cannot be imported (a guarded import of an optional library).
    if definition.file is not None and defined_name == target_name and mechanism is Mechanism.FUNCTION:
        return Site(definition.file, definition.module, target_name, None, mechanism)
    # Bound here under another name, or a variable bound by an import: the runtime rebinds the name in the
    # target's module (and the same-name holders of the same object), not the definition.
    module = tp.target.rsplit(".", 1)[0]
    path = tree.module_file(module)
    if path is None:
        raise SiteError(f"module {module} has no source file to hold the fused code")
    relative = tree.relative(path)
    assert relative is not None
    return Site(relative, module, target_name, None, mechanism)


def group_sites(targets: list[TargetPlan], tree: SourceTree) -> tuple[list[Site], dict[str, str]]:
    """Sites in first-target order, and for each target that has none, the reason."""
    sites: dict[tuple[str, str | None, str], Site] = {}
    failures: dict[str, str] = {}
    for tp in targets:
        if tp.definition is None or not any(pp.resolved for pp in tp.patches):
            continue
        try:
            site = site_for(tp, tree)
        except SiteError as exc:
            failures[tp.target] = str(exc)
            continue
        existing = sites.setdefault(site.key, site)
        if site.mechanism is Mechanism.VALUE:
            existing.mechanism = Mechanism.VALUE  # a class anywhere in the stack: settle it like a class
        existing.targets.append(tp)
    return list(sites.values()), failures
