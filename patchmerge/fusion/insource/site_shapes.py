"""The shapes of a site the in-source strategy takes as a whole, and why a module value's is not one."""

from __future__ import annotations

from patchmerge.fusion.sites import Mechanism, Site
from patchmerge.model import DefKind, FusionKind, PlannedPatch


def class_by_class(site: Site) -> bool:
    """A class replaced by one unconditional class: its def moves in place of the original's."""
    if len(site.targets) != 1 or site.owner_class is not None:
        return False
    definition = site.targets[0].definition
    patches = site.patches
    return (
        definition is not None
        and definition.kind is DefKind.CLASS
        and len(patches) == 1
        and patches[0].kind is not FusionKind.WRAP
        and not patches[0].patch.is_conditional
        and patches[0].source is not None
        and patches[0].source.kind is DefKind.CLASS
    )


def class_branches(site: Site) -> bool:
    """A class replaced by classes under conditions only: each moves beside the original (insource.class_branches)."""
    if len(site.targets) != 1 or site.owner_class is not None or not site.patches:
        return False
    definition = site.targets[0].definition
    return (
        definition is not None
        and definition.kind is DefKind.CLASS
        and definition.file == site.file
        and all(pp.kind is not FusionKind.WRAP and pp.patch.is_conditional for pp in site.patches)
        and all(pp.source is not None and pp.source.kind is DefKind.CLASS for pp in site.patches)
    )


def at_definition(site: Site) -> Site:
    """A class a module binds by importing it (`from .gpt_model import GPTModel` in megatron/legacy/model),
    replaced by one class: the site where the class is defined. The runtime rebinds the name in every module
    holding the class under it, the defining module among them, so replacing the class where it is defined
    gives every importer the patch's class, as the runtime does."""
    if len(site.targets) != 1 or site.owner_class is not None or not class_by_class(site):
        return site
    definition = site.targets[0].definition
    assert definition is not None
    if definition.file is None or definition.file == site.file or definition.qualname != site.name:
        return site  # under another name (`import GPTModel as GPT`) the runtime rebinds only that name
    return Site(definition.file, definition.module, definition.qualname, None, site.mechanism, site.targets)


def wrapped_in_turn(site: Site) -> bool:
    """Several targets that name one function (its module's, and importers' names for it), each only wrapped:
    the runtime applies each target's Patch in turn, and each rebinds every module holding what the previous
    one bound under that name, so the def ends up wrapped by each target's wrappers, in that order."""
    definitions = {(tp.definition.file, tp.definition.qualname) for tp in site.targets if tp.definition is not None}
    return (
        site.mechanism is Mechanism.FUNCTION
        and len(definitions) == 1
        and all(tp.definition is not None and tp.definition.kind is DefKind.FUNCTION for tp in site.targets)
        and all(pp.kind is FusionKind.WRAP for pp in site.patches)
    )


def replaced_alike(site: Site) -> bool:
    """Several targets that name one function, replaced by one patch, under no condition on at least one of
    them: whichever target's Patch the runtime applies first rebinds every module holding the def under that
    name, and the others bind the same patch again, so the def is replaced whatever the conditions. (MindSpeed-LLM
    26.1.0 replaces `global_vars.build_tokenizer` always, `tokenizer.build_tokenizer` under a condition.)"""
    definitions = {(tp.definition.file, tp.definition.qualname) for tp in site.targets if tp.definition is not None}
    patches = site.patches
    return (
        len(site.targets) > 1
        and site.mechanism is Mechanism.FUNCTION
        and len(definitions) == 1
        and all(tp.definition is not None and tp.definition.kind is DefKind.FUNCTION for tp in site.targets)
        and all(pp.kind is not FusionKind.WRAP for pp in patches)
        and len({pp.patch.patch_import for pp in patches}) == 1
        and sum(not pp.patch.is_conditional for pp in patches) == 1
    )


def value_by_class(site: Site) -> bool:
    """A new module-level name (the patch creates it) given one unconditional class: the class moves to the end
    of the module. A name bound by an import or an assignment is not: the runtime rebinds it in every module
    holding the original under that name too."""
    if len(site.targets) != 1 or site.owner_class is not None or len(site.patches) != 1:
        return False
    definition = site.targets[0].definition
    patch = site.patches[0]
    return (
        definition is not None
        and definition.kind is DefKind.MISSING
        and patch.kind is not FusionKind.WRAP
        and not patch.patch.is_conditional
        and patch.source is not None
        and patch.source.kind is DefKind.CLASS
    )


def value_in_place(site: Site) -> bool:
    """A module value its module binds by an assignment or an import (in `try`/`if` blocks too), replaced by
    one class or function always, or by some under conditions only; or a new name given classes under
    conditions: rebound at the end of the module (insource.values), where the other modules holding it under
    that name allow it (fusion.value_holders)."""
    if len(site.targets) != 1 or site.owner_class is not None or not site.patches:
        return False
    definition = site.targets[0].definition
    patches = site.patches
    if definition is None or definition.module != site.module or definition.file != site.file:
        return False
    if any(pp.kind is FusionKind.WRAP or pp.source is None for pp in patches):
        return False
    conditional = [pp.patch.is_conditional for pp in patches]
    if definition.kind is DefKind.MISSING:
        return all(conditional) and all(pp.source.kind is DefKind.CLASS for pp in patches)  # type: ignore[union-attr]
    return definition.kind is DefKind.VARIABLE and (all(conditional) or conditional == [False])


def value_refusal(site: Site) -> str:
    """Why a module value (or a class) is not rebound in source: what `value_in_place` and the class cases
    do not take."""
    definition = site.targets[0].definition
    if len(site.targets) != 1:
        return "several targets reach this module value: the runtime applies each target's Patch in turn"
    if any(pp.kind is FusionKind.WRAP for pp in site.patches):
        return "wrappers on a module value or a class: the runtime wraps the object bound when it patches"
    if definition is not None and (definition.module != site.module or definition.file != site.file):
        return (f"{site.module} binds {site.name} from {definition.module}, which holds it too (the runtime rebinds "
                "it there as well): the deferred strategy binds it")
    if any(pp.source is None for pp in site.patches):
        return "a patch of this module value is not a definition in the source roots: the deferred strategy binds it"
    if definition is not None and definition.kind is DefKind.MISSING:
        return "a new name given functions under conditions, or classes always and under conditions: deferred"
    conditional = {pp.patch.is_conditional for pp in site.patches}
    if conditional == {True, False} or len(site.patches) > 1 and False in conditional:
        return "a module value replaced both always and under a condition: the deferred strategy binds it"
    return f"a {definition.kind.value if definition else 'module'} value the in-source strategy does not take: deferred"


def own_def_alias(site: Site) -> PlannedPatch | None:
    """The one unconditional replacement of a module function by another module-level def of its module, which
    stays (see insource.aliases)."""
    if len(site.targets) != 1 or len(site.patches) != 1 or site.owner_class is not None:
        return None
    definition = site.targets[0].definition
    pp = site.patches[0]
    source = pp.source
    if (
        site.mechanism is Mechanism.FUNCTION
        and definition is not None
        and definition.kind is DefKind.FUNCTION
        and pp.kind is not FusionKind.WRAP
        and not pp.patch.is_conditional
        and source is not None
        and source.kind is DefKind.FUNCTION
        and source.module == site.module
        and "." not in source.qualname
        and source.qualname != site.name
    ):
        return pp
    return None
