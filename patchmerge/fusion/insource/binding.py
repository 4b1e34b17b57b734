"""Which bindings the in-source strategy takes, and why the others fall back to the deferred strategy.

In source, a binding's chain is fixed when its module is imported, so it must not depend on anything decided
later: one Patch (no phases), one target, a definition the runtime would replace or wrap as a plain object (a
def in a module or class body, or a name the patch creates), and conditions that read only options of the
adaptor's own parse (SPEC 3.11), which the runtime helper parses from the command line at that import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from patchmerge.conditions import ConditionError, parse_condition
from patchmerge.fusion.insource.adaptor_args import AdaptorArgs, Option
from patchmerge.fusion.insource.condition_keys import condition_keys, ensured_keys, guarded_keys, holds_before
from patchmerge.fusion.insource.site_shapes import (
    at_definition,
    class_branches,
    class_by_class,
    own_def_alias,
    replaced_alike,
    value_by_class,
    value_in_place,
    value_refusal,
    wrapped_in_turn,
)
from patchmerge.fusion.sites import Mechanism, Site
from patchmerge.model import DefKind, FusionKind, PlannedPatch
from patchmerge.plan.raises import Clash, clashes

# kinds whose def the runtime's getattr returns as written (a property object, the plain function of a
# staticmethod); a classmethod comes back bound and an inherited member from a base, which a def cannot show
_REPLACEABLE = (DefKind.FUNCTION, DefKind.METHOD, DefKind.STATICMETHOD, DefKind.CLASSMETHOD, DefKind.PROPERTY)
_WRAPPABLE = (DefKind.FUNCTION, DefKind.METHOD, DefKind.STATICMETHOD, DefKind.PROPERTY)


@dataclass
class Binding:
    """One site fused in source: at most one unconditional replacement (else the original), the conditional
    replacements over it (a later one that holds wins), then its wrappers in registration order."""

    site: Site
    kind: DefKind  # of the target definition
    replacement: PlannedPatch | None
    wrappers: list[PlannedPatch]
    branches: list[PlannedPatch] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)  # the adaptor options its conditions read
    value: bool = False  # a module value (bound by an import, an assignment, or new) replaced by a class
    implicit: bool = False  # wrappers on a member the class gets implicitly (inherited, or from @dataclass)
    calls_read: dict[str, tuple[str, ...]] = field(default_factory=dict)  # conditions with their calls written out
    importer: Site | None = None  # for a class fused where it is defined: the module that imports it (the target's)
    alias: bool = False  # replaced by another def of its module, bound as Megatron wrote it (insource.aliases)
    clashes: list[Clash] = field(default_factory=list)  # where the runtime's adaptation raises instead
    # by patch id: names read without a default that only the command line's unknown options give (or nothing)
    unknown_reads: dict[str, tuple[str, ...]] = field(default_factory=dict)
    overridden: list[PlannedPatch] = field(default_factory=list)  # conditional, before the unconditional one
    # the conditions reading such names are evaluated first, in registration order, as the runtime's adaptation
    # evaluates them (see `_in_runtime_order`)
    in_order: bool = False

    @property
    def patches(self) -> list[PlannedPatch]:
        return self.site.patches

    @property
    def written_before(self) -> bool:
        """Whether statements the runtime's adaptation runs (its raises, its evaluations) precede the binding."""
        return bool(self.clashes) or self.in_order


def choose(
    site: Site,
    patch_sources: set[tuple[str, str]],
    adaptor_args: AdaptorArgs | None = None,
    patched_members: frozenset[tuple[str, str, str]] = frozenset(),
    elsewhere: frozenset[tuple[str, str | None, str]] = frozenset(),
    aliased: frozenset[tuple[str, str]] = frozenset(),
    phases: dict[tuple[str, str | None, str], set[int]] | None = None,
) -> Binding | str:
    """The binding when the in-source strategy can take `site`, else the reason it cannot. `patched_members`:
    (module, class qualname, name) of the members that are targets; `elsewhere`: the keys of the other sites;
    `aliased`: (module, qualname) of the defs other targets are bound to in source (see insource.aliases);
    `phases`: the phases each site's patches are registered in."""
    patched_classes = {(module, owner) for module, owner, _ in patched_members}
    importer, site = site, at_definition(site)
    if site.key in elsewhere:
        return f"{site.module}.{site.name}, where the class is defined, is a target of its own too"
    value = value_by_class(site) or value_in_place(site)
    branches_only = class_branches(site)
    if site.mechanism is Mechanism.VALUE and not class_by_class(site) and not value and not branches_only:
        return value_refusal(site)
    moving = site.patches if value or class_by_class(site) or branches_only else []
    for source in (pp.source for pp in moving if pp.source is not None):
        if (source.module, source.qualname) in patched_classes:
            return (f"members of {source.module}.{source.qualname} are targets too: the class stays where their "
                    "fusion finds it")
    alike = replaced_alike(site)
    if len(site.targets) != 1 and not wrapped_in_turn(site) and not alike:
        names = ", ".join(tp.target for tp in site.targets)
        return (f"several targets reach this binding ({names}), not all by wrappers; the runtime applies each "
                "target's Patch in turn")
    definition = site.targets[0].definition
    assert definition is not None
    patches = site.patches
    alias = own_def_alias(site)
    for pp in site.patches:  # a patch that is itself a target: the runtime registers it as earlier phases left it
        source = pp.source
        if source is None or source.owner_class or "." in source.qualname:
            continue
        earlier = {p for p in (phases or {}).get((source.module, None, source.qualname), set())
                   if p < (pp.patch.phase or 0)}
        if earlier:
            return (f"{source.module}.{source.qualname} is patched in an earlier phase ({min(earlier)}), so the "
                    "runtime registers it patched; the def as written is not what this binding gets")
    direct: dict[str, set[str]] = {}
    options = condition_options(patches, adaptor_args, direct)
    if isinstance(options, str):
        return options
    if len({(pp.patch.phase, pp.patch.collection) for pp in patches}) > 1:
        return "patches in several phases or collections: the runtime re-applies the Patch"
    replacements = [pp for pp in patches if pp.kind is not FusionKind.WRAP]
    wrappers = [pp for pp in patches if pp.kind is FusionKind.WRAP]
    always = [pp for pp in replacements if not pp.patch.is_conditional]
    if len(always) > 1:
        return "more than one unconditional replacement on one binding"
    # a conditional replacement registered before the unconditional one never wins (a later one does); where
    # the runtime raises instead (a second replacement without force_patch), binding.clashes says so
    overridden = replacements[: replacements.index(always[0])] if always else []
    if alike:  # each conditional one binds the very def the unconditional one binds (see site_shapes.replaced_alike)
        overridden = [pp for pp in replacements if pp is not always[0]]
    branches = [pp for pp in replacements if pp.patch.is_conditional and pp not in overridden]
    # a runtime Patch is one target's: only replacements of one target clash
    targets = dict.fromkeys(pp.patch.target for pp in replacements)
    raising = [c for target in targets for c in clashes([pp for pp in replacements if pp.patch.target == target])]
    in_order = bool(direct) and _in_runtime_order(branches, overridden, wrappers, raising, direct)
    conditional_wrappers = any(pp.patch.is_conditional for pp in wrappers)
    if (definition.module, definition.qualname) in patch_sources:
        return "the original is itself registered as the patch of another target, so it must stay in the source"
    if (definition.module, definition.qualname) in aliased and replacements:
        return "another target is bound to this def as Megatron wrote it, so the def stays; only wrappers apply"
    kind = definition.kind
    if kind is DefKind.MISSING:
        if wrappers:
            return "wrappers on a name the patch creates"
    elif kind is DefKind.STATICMETHOD and wrappers and always and (branches or conditional_wrappers):
        # the runtime wraps the plain function getattr returns; the class body holds the staticmethod object
        return "wrappers on a staticmethod under a condition, with an unconditional replacement"
    elif replacements and kind is DefKind.INHERITED:
        if wrappers:
            return "an inherited member replaced and wrapped: the deferred strategy binds it"
    elif replacements and kind not in (*_REPLACEABLE, DefKind.CLASS) and not value:
        return f"a {kind.value} target: the deferred strategy binds it"
    elif not replacements and kind is DefKind.INHERITED and site.owner_class and "." not in site.owner_class:
        # applied after the class statement, to what a lookup on the class returns then; an inherited member
        # another class patches too may be looked up before or after that patch at runtime
        others = sorted(f"{o}.{n}" for m, o, n in patched_members if n == site.name and (m, o) != (site.module,
                        site.owner_class))
        if definition.external_base != "dataclass" and others:
            return f"the inherited {site.name} is patched on {others[0]} too: the order of the patches decides"
    elif not replacements and kind not in _WRAPPABLE:
        return f"wrappers on a {kind.value}: the runtime wraps the object a lookup returns, which a def cannot show"
    if kind is DefKind.CLASS and not value:
        if not class_by_class(site) and not branches_only:
            return "a class target with wrappers, or replaced both always and under a condition: deferred"
        if definition.file != site.file:
            return f"class {site.name} is bound in {site.module} by an import: the deferred strategy binds it"
    wanted = DefKind.CLASS if kind is DefKind.CLASS or value else DefKind.FUNCTION
    for pp in patches:
        source = pp.source
        kinds = (DefKind.CLASS, DefKind.FUNCTION) if value and kind is DefKind.VARIABLE else (wanted,)
        if source is None or source.file is None or source.kind not in kinds or "." in source.qualname:
            return f"{pp.patch.id}: the patch is not a module-level {wanted.value} in the source roots"
        own = site.owner_class or pp.kind is FusionKind.WRAP or pp not in branches
        if source.module == site.module and own and pp is not alias:
            return f"{pp.patch.id}: the patch is defined in the target's own module"
    if site.owner_class and "." in site.owner_class:
        return "a member of a nested class"
    implicit = kind is DefKind.INHERITED  # set on the class after its statement, as the runtime's setattr
    read = {pp.patch.id: adaptor_args.calls_read[pp.patch.id] for pp in patches
            if adaptor_args is not None and pp.patch.id in adaptor_args.calls_read}
    moved_from = importer if importer is not site else None
    return Binding(site, kind, always[0] if always else None, wrappers, branches, options, value, implicit, read,
                   moved_from, alias is not None, raising, {pid: tuple(sorted(names)) for pid, names in direct.items()},
                   overridden, in_order)


def condition_options(
    patches: list[PlannedPatch], adaptor_args: AdaptorArgs | None, direct: dict[str, set[str]] | None = None
) -> list[Option] | str:
    """The adaptor options the patches' conditions read, or why they cannot be decided at import. `direct`
    gets, by patch id, the names read without a default that only the command line's unknown options give."""
    conditional = [pp for pp in patches if pp.patch.is_conditional]
    if not conditional:
        return []
    ids = ", ".join(pp.patch.id for pp in conditional)
    if adaptor_args is None:
        return (f"conditional ({ids}): the profile names no adaptor args source (runtime.adaptor_args_files), "
                "so the deferred strategy decides")
    options: dict[str, Option] = {}
    for pp in conditional:
        texts = pp.patch.condition
        if pp.patch.condition_import:
            if pp.patch.id not in adaptor_args.calls_read:
                names = ", ".join(pp.patch.condition_import)
                why = adaptor_args.calls_unread.get(pp.patch.id, "it was not read")
                return (f"{pp.patch.id}: its condition calls {names}, which cannot be imported where it is "
                        f"decided, nor read as the adaptor's parse: {why}")
            texts = adaptor_args.calls_read[pp.patch.id]
        ensured: set[str] = set()  # what an earlier condition of the patch showed args to have
        for index, text in enumerate(texts):
            try:
                keys = condition_keys(parse_condition(text).tree)
            except ConditionError as exc:
                return f"{pp.patch.id}: condition {text!r} {exc}"
            if keys is None:
                return f"{pp.patch.id}: condition {text!r} uses args other than by reading its options"
            tree = parse_condition(text).tree
            guarded = guarded_keys(tree) | ensured
            ensured |= ensured_keys(tree)
            for key in sorted(keys):
                option = adaptor_args.option(key)
                if isinstance(option, str) and key not in adaptor_args.options:
                    unknown = adaptor_args.unknown(key)  # from what the parser leaves unknown, if the adaptor adds it
                    if unknown is None and key not in adaptor_args.changed and key not in adaptor_args.unreadable:
                        if key not in guarded and direct is not None:  # absent, it raises as the runtime's does
                            direct.setdefault(pp.patch.id, set()).add(key)
                        continue
                if isinstance(option, str):
                    return f"{pp.patch.id}: {option}"
                if option.guard is not None and key not in guarded and not holds_before(list(texts), index,
                                                                                         option.guard):
                    return (f"{pp.patch.id}: args.{key} is an option only if {option.guard.condition} "
                            f"({option.guard.entry}), and {text!r} reads it without an earlier condition saying so")
                options[key] = option
    return list(options.values())


def _in_runtime_order(
    branches: list[PlannedPatch],
    overridden: list[PlannedPatch],
    wrappers: list[PlannedPatch],
    raising: list[Clash],
    direct: dict[str, set[str]],
) -> bool:
    """Whether the conditions that read a name only unknown options give, without a default, must be evaluated
    ahead of the binding, in registration order. The runtime's adaptation evaluates every registration's
    condition in that order and raises at the first missing name (or at a clash); the chain tests the last
    registered branch first (the others only where it fails), an overridden replacement's condition is written
    only where it makes the runtime raise (`if condition: raise ...`, tested first), the clash raises precede
    the chain and the wrappers follow it. So one such condition is tested in the runtime's order only as the
    last branch, as a wrapper registered once with no clash, or as an overridden one the only clash tests."""
    readers = [pp for pp in [*overridden, *branches, *wrappers] if pp.patch.id in direct]
    if len(readers) != 1:
        return bool(readers)
    reader = readers[0]
    if reader in overridden:
        tested = [c for c in raising if c.earlier == (reader,) and not c.later.patch.is_conditional]
        return not (tested and len(raising) == 1)
    if reader in wrappers:  # from 2.2.0 a wrapper registered again is kept once: the later condition unwritten
        again = any(w.patch.patch_import == reader.patch.patch_import and w.patch.target == reader.patch.target
                    for w in wrappers[: wrappers.index(reader)])
        return bool(raising) or again
    return reader is not branches[-1]


def overridden_note(pp: PlannedPatch, binding: Binding) -> str:
    """What the comment on an overridden replacement adds: the unconditional one that decides the binding."""
    always = binding.replacement
    if pp not in binding.overridden or always is None:
        return ""
    if pp.patch.patch_import == always.patch.patch_import:
        return f"; bound always, as {always.patch.target} is replaced by it unconditionally"
    return f"; {always.patch.patch_import}, registered later, always wins"
