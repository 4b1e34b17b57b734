"""The code fused into a patched module: one settle function per site, and the line that installs it.

The settle function is the patch chain written out as code: the conditions (validated expressions over
`args`), the replacements in registration order (a later one that holds wins) and the wrappers over the
result, target by target and phase by phase, exactly the order in which the runtime's Patches apply.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from patchmerge.fusion.sites import Mechanism, Site
from patchmerge.markers import FUSED_BLOCK_START, HELPER_ALIAS
from patchmerge.model import FusionKind, PlannedPatch
from patchmerge.plan.raises import clash_condition, clashes, grouped

BLOCK_START = FUSED_BLOCK_START


def settle_name(site: Site) -> str:
    return f"_patchmerge_settle_{site.slug}"


def normalise(text: str) -> str:
    """One condition as a single-line expression: parsed and unparsed, so a multi-line text (valid inside
    brackets) fits on a comment line, in an `if` and in a probe record."""
    return ast.unparse(ast.parse(text.strip(), mode="eval"))


class _Rename(ast.NodeTransformer):
    """Rename every Name node with a mapped id (reads, and comprehension targets alike, so scoping holds)."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.Name:  # noqa: N802 - ast's interface
        if node.id in self.names:
            return ast.copy_location(ast.Name(id=self.names[node.id], ctx=node.ctx), node)
        return node


def rewrite_condition(text: str, names: dict[str, str]) -> str:
    """The condition with the names its condition_import binds renamed to their aliases, on the tree."""
    tree = ast.parse(text.strip(), mode="eval")
    if names:
        tree = ast.fix_missing_locations(_Rename(names).visit(tree))
    return ast.unparse(tree)


class _ArgsToAdaptorParse(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.expr:  # noqa: N802 - ast's interface
        if node.id != "args":
            return node
        helper = ast.Attribute(value=ast.Name(id=HELPER_ALIAS, ctx=ast.Load()), attr="adaptation_args", ctx=ast.Load())
        return ast.copy_location(ast.Call(func=helper, args=[], keywords=[]), node)


def over_adaptor_args(text: str) -> str:
    """The condition reading the adaptor's parse where it read `args`, rewritten on the expression tree."""
    tree = _ArgsToAdaptorParse().visit(ast.parse(text.strip(), mode="eval"))
    return ast.unparse(ast.fix_missing_locations(tree))


def _condition_code(conditions: tuple[str, ...], names: dict[str, str] | None = None) -> str:
    parts = []
    for text in conditions:
        code = rewrite_condition(text, names or {})
        top = ast.parse(code, mode="eval").body
        parts.append(f"({code})" if isinstance(top, ast.BoolOp | ast.IfExp) and len(conditions) > 1 else code)
    return " and ".join(parts)


def _import_line(dotted: str, local: str, module_of: Callable[[str], str | None]) -> str:
    """`from module import first as local` then attribute steps, for a patch_import or condition_import."""
    module = module_of(dotted)
    if module is None:
        raise ValueError(f"no module prefix of {dotted} is in the source roots")
    rest = dotted[len(module) + 1 :].split(".")
    if len(rest) == 1:
        return f"from {module} import {rest[0]} as {local}" if rest[0] != local else f"from {module} import {local}"
    return f"from {module} import {rest[0]} as {local}\n{local} = {local}.{'.'.join(rest[1:])}"


def _indent(code: str, level: int = 1) -> list[str]:
    return ["    " * level + line for line in code.splitlines()]


def render_site(
    site: Site,
    module_of: Callable[[str], str | None],
    unpatched: Callable[[PlannedPatch], str | None],
    probes: bool = True,
    semantics: str = "2.1.0",
    adaptation_args: bool = False,
    waits: tuple[str, ...] = (),
) -> str:
    """The settle function and the install line for one site; a class or value settle waits for the modules
    `waits` names while they are still being imported (see `waits_for`).

    From MindSpeed 2.2.0 (`semantics`) a wrapper registered twice on one Patch is kept once: a repeated wrapper
    then applies only if the same wrapper has not applied already.

    `module_of(dotted)` gives the longest module prefix of a dotted name; `unpatched(pp)` gives an expression
    for the patch object when it is itself a fused site in this merge (the runtime registered the object bound
    before any patching, so the fused chain must use that original too), else None.
    """
    patches = site.patches
    needs_args = any(pp.patch.condition for pp in patches)
    lines = [f"def {settle_name(site)}(_original):"]
    described = ", ".join(tp.target for tp in site.targets)
    lines.append(f'    """{described}: {len(patches)} fused patch(es), applied as the runtime applies them."""')
    if needs_args:
        # the adaptor's own parse where the merge could read every option the conditions use (SPEC 3.11),
        # else the args accessor the profile names
        source = "adaptation_args" if adaptation_args else "args"
        lines.append(f"    args = {HELPER_ALIAS}.{source}()")
    # Each condition name is imported under its own alias, so two names with the same last part, or a name
    # that is also a local of the settle function, cannot collide; each patch's conditions are rewritten to them.
    aliases: dict[str, str] = {}
    renames: dict[str, dict[str, str]] = {}
    for pp in patches:
        names: dict[str, str] = {}
        for dotted in pp.patch.condition_import:
            if dotted not in aliases:
                aliases[dotted] = f"_cond_{len(aliases)}"
                lines += _indent(_import_line(dotted, aliases[dotted], module_of))
            names[dotted.rsplit(".", 1)[-1]] = aliases[dotted]
        renames[pp.patch.id] = names
    early, late = _clash_checks(site, renames, adaptation_args)
    lines += _indent("\n".join(late))
    lines.append("    _final = _original")
    planned = applications(site, semantics)
    for flag, value in sorted({a.capture for a in planned if a.capture is not None}):
        lines += [f"    {flag} = False", f"    {value} = None"]
    if probes:
        lines.append("    _taken = []")
    counter = 0
    for application in planned:
        lines.append(f"    # {application.describe()}")
        level = 1
        if application.when:
            guard = " or ".join(
                f"({_condition_code(pp.patch.condition, renames.get(pp.patch.id))})" for pp in application.when
            )
            lines.append(f"    if {guard}:  # something new was registered on it")
            level = 2
        pad = "    " * level
        if application.capture is not None:  # from 2.2.0 a Patch keeps the original it first found
            flag, value = application.capture
            lines += [f"{pad}if not {flag}:", f"{pad}    {value} = _final", f"{pad}    {flag} = True"]
            lines.append(f"{pad}_final = {value}")
        imports = [pp.patch.patch_import for pp in application.patches if pp.kind is FusionKind.WRAP]
        dedupe = semantics != "2.1.0" and len(set(imports)) < len(imports)
        if dedupe:
            lines.append(f"{pad}_wrapped = set()  # wrappers already applied in this Patch (kept once from 2.2.0)")
        for pp in application.patches:
            local = f"_patch_{counter}"
            counter += 1
            condition = _condition_code(pp.patch.condition, renames.get(pp.patch.id))
            if dedupe and pp.kind is FusionKind.WRAP:
                seen = f"{pp.patch.patch_import!r} not in _wrapped"
                condition = f"({condition}) and {seen}" if condition else seen
            lines.append(f"{pad}# {pp.patch.id}: {pp.kind} {pp.patch.patch_import}, if {condition or 'always'}")
            original_expr = unpatched(pp)
            fetch = (
                f"{local} = {original_expr}" if original_expr else _import_line(pp.patch.patch_import, local, module_of)
            )
            apply = f"_final = {local}(_final)" if pp.kind is FusionKind.WRAP else f"_final = {local}"
            body = f"{fetch}\n{apply}" + (f"\n_taken.append({pp.patch.id!r})" if probes else "")
            if dedupe and pp.kind is FusionKind.WRAP:
                body += f"\n_wrapped.add({pp.patch.patch_import!r})"
            if condition:
                lines.append(f"{pad}if {condition}:")
                lines += _indent(body, level + 1)
            else:
                lines += _indent(body, level)
    if probes:
        branches = "".join(
            f"\n            ({pp.patch.target!r}, {pp.patch.id!r}, {pp.kind.value!r}, {pp.patch.patch_import!r}, "
            f"{' and '.join(normalise(c) for c in pp.patch.condition)!r}),"
            for pp in patches
        )
        lines.append(
            f"    {HELPER_ALIAS}.announce(\n        __name__,\n        ({branches}\n        ),\n        _taken,\n    )"
        )
    lines.append("    return _final")
    ids = tuple((pp.patch.target, pp.patch.patch_import) for pp in patches)
    lines += ["", "", _install_line(site, ids, waits)]
    return "\n".join([*early, *(["", ""] if early else []), *lines])


def _clash_checks(site: Site, renames: dict[str, dict[str, str]], adaptation_args: bool) -> tuple[list[str], list[str]]:
    """Where the runtime's adaptation raises instead of binding anything (plan.raises): the checks for the
    module's top level, as it is imported, where the adaptor's parse alone decides them; else those for the
    settle function, when the binding settles."""
    early: list[str] = []
    late: list[str] = []
    for tp in site.targets:
        for clash in clashes([pp for pp in tp.patches if pp.resolved and pp.kind is not FusionKind.WRAP]):
            at_import = adaptation_args and not any(pp.patch.condition_import for pp in (clash.later, *clash.earlier))
            if at_import:
                condition = clash_condition(clash, lambda pp: " and ".join(
                    grouped(over_adaptor_args(c)) if len(pp.patch.condition) > 1 else over_adaptor_args(c)
                    for c in pp.patch.condition))
            else:
                condition = clash_condition(clash, lambda pp: _condition_code(pp.patch.condition, renames[pp.patch.id]))
            why = f"# {clash.later.patch.id} is a second replacement without force_patch: the runtime raises"
            check = [why, f"if {condition}:", f"    raise RuntimeError({clash.message!r})"]
            (early if at_import else late).extend(check)
    return early, late


def waits_for(
    site: Site, module_of: Callable[[str], str | None], runs_while_loading: Callable[[str, str], bool]
) -> tuple[str, ...]:
    """The modules a class or value settle imports its patches from (and those that define them), and the
    packages of those and of the target's module whose `__init__` imports the target (`runs_while_loading`:
    such a package may not yet bind a name a patch module reads): while one of them is still being imported,
    the settle waits for it to finish, as the runtime patches after them."""
    if site.mechanism is not Mechanism.VALUE:
        return ()
    modules = {module_of(pp.patch.patch_import) for pp in site.patches}
    modules |= {pp.source.module for pp in site.patches if pp.source is not None and pp.source.file is not None}
    found = {m for m in modules if m}
    for module in [*found, site.module]:
        parts = module.split(".")
        packages = (".".join(parts[:end]) for end in range(1, len(parts)))
        found |= {package for package in packages if runs_while_loading(package, site.module)}
    return tuple(sorted(found))


def _install_line(site: Site, ids: tuple[tuple[str, str], ...], waits: tuple[str, ...] = ()) -> str:
    settle = settle_name(site)
    patches = "patches=(" + "".join(f"\n    ({t!r}, {p!r})," for t, p in ids) + "\n)"
    if site.mechanism is Mechanism.MEMBER:
        return f"{HELPER_ALIAS}.fused_member({site.owner_class}, {site.name!r}, {settle}, {patches})"
    if site.mechanism is Mechanism.VALUE:
        return f"{HELPER_ALIAS}.fused_value(__name__, {site.name!r}, {settle}, {patches}, waits_for={waits!r})"
    exists = not all(pp.target is not None and pp.target.kind.value == "missing" for pp in site.patches)
    original = site.name if exists else "None"
    return f"{site.name} = {HELPER_ALIAS}.fused_function(__name__, {site.name!r}, {original}, {settle}, {patches})"


@dataclass
class Application:
    """One Patch applied to one target at one phase: the patches it holds then, in the order the runtime
    applies them (replacements, then wrappers), and what it starts from."""

    target: str
    phase: int
    collection: str | None
    patches: list[PlannedPatch]
    # a Patch applied again only if one of these registrations happened (None: always, as at first)
    when: list[PlannedPatch] | None = None
    capture: tuple[str, str] | None = None  # (flag, variable) holding the original kept from 2.2.0 on
    first: bool = True

    def describe(self) -> str:
        owner = f"{self.collection}'s Patch" if self.collection else "Patch"
        again = "" if self.first else ", applied again"
        return f"phase {self.phase}: {owner} on {self.target}{again}"


def applications(site: Site, semantics: str) -> list[Application]:
    """Phase by phase across the targets (every target's phase-0 Patch, then phase 1, ...), as the runtime
    applies them.

    Patches without a `collection` form one Patch per phase. A named collection keeps one Patch per target
    across phases: registering on it again (in a later phase) re-applies it with everything registered so far.
    In 2.1.0 it starts from what is bound then, so its earlier wrappers wrap again; from 2.2.0 it starts from
    the original it first found.
    """
    result: list[Application] = []
    phases = sorted({pp.patch.phase or 0 for tp in site.targets for pp in tp.patches if pp.resolved})
    # the phases in which each (target, collection) Patch gets registrations: more than one means re-applied
    registered: dict[tuple[int, str], set[int]] = {}
    for position, tp in enumerate(site.targets):
        for pp in tp.patches:
            if pp.resolved and pp.patch.collection is not None:
                registered.setdefault((position, pp.patch.collection), set()).add(pp.patch.phase or 0)
    slugs = {key: n for n, key in enumerate(registered)}
    for number in phases:
        # a collection applies its Patches in the order it first got them (its dict), across phases
        names = {pp.patch.collection for tp in site.targets for pp in tp.patches if (pp.patch.phase or 0) == number}
        name = next(iter(names)) if len(names) == 1 else None
        order = sorted(
            range(len(site.targets)),
            key=lambda pos: (min(registered.get((pos, name), {number})) if name is not None else number, pos),
        )
        for position in order:
            tp = site.targets[position]
            resolved = [pp for pp in tp.patches if pp.resolved]
            current = [pp for pp in resolved if (pp.patch.phase or 0) == number]
            if any(pp.patch.collection is None for pp in current):
                held = [pp for pp in current if pp.patch.collection is None]
                result.append(Application(tp.target, number, None, _ordered(held)))
            for collection in dict.fromkeys(pp.patch.collection for pp in current if pp.patch.collection is not None):
                key = (position, collection)
                held = [
                    pp for pp in resolved if pp.patch.collection == collection and (pp.patch.phase or 0) <= number
                ]
                new = [pp for pp in current if pp.patch.collection == collection]
                when = None if any(not pp.patch.condition for pp in new) else new
                capture = None
                if semantics != "2.1.0" and len(registered[key]) > 1:
                    capture = (f"_kept_{slugs[key]}", f"_original_{slugs[key]}")
                first = number == min(registered[key])
                result.append(Application(tp.target, number, collection, _ordered(held), when, capture, first))
    return result


def _ordered(patches: list[PlannedPatch]) -> list[PlannedPatch]:
    return [pp for pp in patches if pp.kind is not FusionKind.WRAP] + [
        pp for pp in patches if pp.kind is FusionKind.WRAP
    ]
