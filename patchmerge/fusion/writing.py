"""The merge's writing stages: in-source bindings, deferred stanzas, the runtime helper, fixups, validation."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pluggy

from patchmerge.collection.entered import Entered, functions_entered
from patchmerge.fusion import edits as file_edits
from patchmerge.fusion.adaptor_adjust import carried_adjusters
from patchmerge.fusion.adaptor_guards import read_guarded
from patchmerge.fusion.context import FuseContext
from patchmerge.fusion.deciding import RegistrationIndex
from patchmerge.fusion.insource import DEFERRED, IN_SOURCE, InSourceResult, fuse_in_source
from patchmerge.fusion.insource.adaptor_args import AdaptorArgs, Option, read_adaptor_args
from patchmerge.fusion.insource.adaptor_args import read_files as adaptor_files
from patchmerge.fusion.insource.binding import condition_options
from patchmerge.fusion.insource.condition_calls import read_condition_calls
from patchmerge.fusion.insource.import_graph import ImportGraph
from patchmerge.fusion.insource.writer import Context as InSourceContext
from patchmerge.fusion.model import FileEdit, Outcome, Outcomes
from patchmerge.fusion.runtime_template import earlier_argv_parses, flags_in, with_earlier_merge
from patchmerge.fusion.runtime_template import render as render_helper
from patchmerge.fusion.sites import Mechanism, Site
from patchmerge.fusion.stanza import HELPER_ALIAS, waits_for
from patchmerge.fusion.texts import MergeAborted, Texts
from patchmerge.fusion.validate import check_file
from patchmerge.fusion.value_holders import ValueHolders, ValueReader, value_holders
from patchmerge.model import Definition, FusionKind, Plan, Unresolved
from patchmerge.profile import Profile
from patchmerge.resolution.resolver import StaticResolver
from patchmerge.source.libraries import installed_libraries
from patchmerge.source.modules import module_of_path
from patchmerge.source.tree import SourceTree


def adaptor_args(
    root: Path, profile: Profile, candidates: list[Site], resolve: Callable[[str], Definition], texts: Texts
) -> AdaptorArgs | None:
    """The options of the adaptor's own parser, read from the files the profile names (None: it names none),
    with the conditions of the candidates that call a function written out over them where they can be."""
    if not profile.runtime.adaptor_args_files:
        return None
    entry = profile.runtime.adaptor_args_entry
    found = read_adaptor_args(
        adaptor_files(root, profile.runtime.adaptor_args_files),
        (lambda trees: parse_walk(root, profile, entry, trees)) if entry else None,
    )
    read_guarded(found, profile.runtime.adaptor_args_guarded, texts.read)
    found.changed = profile.runtime.adaptor_args_changed
    found.unknown_args = profile.runtime.adaptor_unknown_args
    for carried in carried_adjusters(profile.runtime.adaptor_args_adjust, texts.read):
        for dest in sorted(carried.reads):  # read without a default: the helper's parser must define it
            if len(found.options.get(dest, [])) != 1:
                raise MergeAborted(f"runtime.adaptor_args_adjust item {carried.entry!r} reads args.{dest}, which is "
                                   "not one option of the adaptor's parser (runtime.adaptor_args_files)")
        found.adjusters.append(carried.code)
        found.adjuster_reads |= carried.reads

    def definition(dotted: str) -> Definition | None:
        try:
            return resolve(dotted)
        except Unresolved:
            return None

    read_condition_calls([pp for site in candidates for pp in site.patches], found, definition, texts.read)
    return found


def parse_walk(root: Path, profile: Profile, entry: str, adders: list[ast.Module]) -> Entered:
    """The defs the adaptor's parse enters (runtime.adaptor_args_entry); `adders`: the parser files' trees."""
    try:
        return functions_entered(root, profile, entry, adders)
    except LookupError as exc:
        raise MergeAborted(f"walking the adaptor's parse (runtime.adaptor_args_entry): {exc}") from None


def argv_parses_read(options: AdaptorArgs | None, written: list[str]) -> dict[str, str]:
    """The helper's parses of the command line that the written code reads."""
    if options is None:
        return {}
    return {name: text for name, text in options.argv_parses.items() if any(name in code for code in written)}


def _defined_at(resolve: Callable[[str], Definition]) -> Callable[[str], tuple[Path, str] | None]:
    """(file, qualname) of the definition a dotted name resolves to, None where it does not resolve."""
    found: dict[str, tuple[Path, str] | None] = {}

    def defined_at(dotted: str) -> tuple[Path, str] | None:
        if dotted not in found:
            try:
                definition = resolve(dotted)
                found[dotted] = (definition.file, definition.qualname) if definition.file is not None else None
            except Unresolved:
                found[dotted] = None
        return found[dotted]

    return defined_at


def _holders(
    resolver: StaticResolver, candidates: list[Site]
) -> Callable[[str, str, str | None], ValueHolders]:
    """Who else holds a module value, each other target replaced always by the same patch counting as rebound."""
    always = {
        (site.module, site.name): site.patches[0].patch.patch_import
        for site in candidates
        if site.owner_class is None and len(site.patches) == 1 and not site.patches[0].patch.is_conditional
        and site.patches[0].kind is not FusionKind.WRAP
    }

    reader = ValueReader(resolver)

    def holders(module: str, name: str, patch_import: str | None) -> ValueHolders:
        return value_holders(reader, module, name, lambda other: patch_import is not None
                             and always.get((other, name)) == patch_import)

    return holders


def _imported_before_patching(options: AdaptorArgs | None, profile: Profile, graph: ImportGraph) -> frozenset[str]:
    """The modules the adaptor imports before it patches anything: those its own parse of the command line reads
    (runtime.adaptor_args_files), and what importing them imports, read from the pristine tree."""
    if options is None:
        return frozenset()
    early: set[str] = set()
    for name in options.files:
        module = module_of_path(name, profile.sources.roots)
        if module is not None and module not in early:
            early |= graph.closure(module)
    return frozenset(early)


def write_in_source(
    candidates: list[Site],
    root: Path,
    profile: Profile,
    tree: SourceTree,
    texts: Texts,
    index: RegistrationIndex,
    options: AdaptorArgs | None,
    probes: bool,
    resolve: Callable[[str], Definition] | None = None,
    resolver: StaticResolver | None = None,
) -> InSourceResult:
    """The default strategy: each binding it can take written at its definition. `resolve`: where a dotted name
    is defined (raises Unresolved), to tell the code a move reads that is the original itself; `resolver`: the
    source reader, to tell who else holds a module value."""
    graph = ImportGraph(tree.module_file, tree.is_package)
    result = fuse_in_source(
        candidates,
        InSourceContext(
            read=texts.read,
            rewritable=profile.sources.rewritable,
            helper_module=profile.runtime.helper_module,
            probes=probes,
            registered_at=index.registered_at,
            semantics=profile.runtime.semantics,
            peek=lambda path: texts.read(path) if (root / path).is_file() else None,
            imports=graph,
            installed=installed_libraries(root, profile.sources.roots, profile.sources.installed),
            defined_at=_defined_at(resolve) if resolve is not None else None,
            patched=frozenset(
                (tp.definition.file, tp.definition.qualname)
                for site in candidates if site.owner_class is None
                for tp in site.targets if tp.definition is not None and tp.definition.file is not None
            ),
            holders=_holders(resolver, candidates) if resolver is not None else None,
            early=_imported_before_patching(options, profile, graph),
        ),
        options,
    )
    for path, text in result.texts.items():
        if path in result.probed and file_edits.binds_helper_alias(texts.read(path), profile.runtime.helper_module):
            raise MergeAborted(
                f"{path}: the module already binds the name '{HELPER_ALIAS}' at module level, which the fused "
                "probes need for the runtime helper; rename it in the module first"
            )
        texts.write(path, text)
    return result


def write_deferred(
    candidates: list[Site],
    in_source: InSourceResult,
    fuse_context: FuseContext,
    hooks: pluggy.PluginManager,
    texts: Texts,
    outcomes: Outcomes,
) -> list[Site]:
    """The fallback strategy for the bindings in-source did not take: a stanza each, by the `fuse_site` hook,
    appended to its module; each module a class or value settle waits for says when it is imported."""
    by_file: dict[Path, list[str]] = {}
    deferred = []
    graph = in_source.imports
    assert graph is not None, "fuse_in_source sets the import graph"
    for site in candidates:
        if site in in_source.fused:
            for pp in site.patches:
                outcomes.settle(pp, Outcome.FUSED, strategy=IN_SOURCE)
            continue
        deferred.append(site)
        fuse_context.waits[site.key] = waits_for(site, fuse_context.module_of, graph.runs_while_loading)
        code = hooks.hook.fuse_site(site=site, context=fuse_context)
        by_file.setdefault(site.file, []).append(code)
        for pp in site.patches:
            outcomes.settle(pp, Outcome.FUSED, strategy=DEFERRED, strategy_reason=in_source.fallback.get(site.key))
    tree = fuse_context.plan_context.tree
    for module in sorted({m for site in deferred for m in fuse_context.waits[site.key]}):
        found = tree.module_file(module)
        relative = tree.relative(found) if found is not None else None
        if relative is not None:
            by_file.setdefault(relative, []).append(f"{HELPER_ALIAS}.module_ready(__name__)")
    for path, stanzas in by_file.items():
        try:
            appended = file_edits.append_block(texts.read(path), fuse_context.helper_module, stanzas, path)
        except file_edits.EditError as exc:
            raise MergeAborted(str(exc)) from None
        texts.write(path, appended)
    return deferred


def adaptation_options(
    candidates: list[Site], in_source: InSourceResult, options: AdaptorArgs | None, fuse_context: FuseContext
) -> list[Option]:
    """The adaptor options every fused condition reads; the deferred sites that read only such options are
    marked in `fuse_context` to decide from them too."""
    found = {option.dest: option for option in in_source.options}
    if options is not None:
        found.update({dest: options.options[dest][0] for dest in options.adjuster_reads})
        for site in candidates:
            read = condition_options(site.patches, options)
            if site not in in_source.fused and not isinstance(read, str) and read:
                fuse_context.adaptation_sites.add(site.key)
                found.update({option.dest: option for option in read})
    return list(found.values())


def write_runtime_support(
    profile: Profile,
    tree: SourceTree,
    texts: Texts,
    needs_setter: bool,
    probes: bool,
    adaptor_options: str,
    branches: dict[str, tuple[str, str]],
    deferred: bool = True,
    argv_parses: dict[str, str] | None = None,
    unknown_args: bool = False,
    adjusters: list[str] | None = None,
) -> None:
    """The helper module fused code imports, and the args-ready hook that settles classes and values."""
    runtime = profile.runtime
    package, _, name = runtime.helper_module.rpartition(".")
    folders = tree.package_dirs(package) if package else ()
    if not folders:
        raise MergeAborted(
            f"runtime.helper_module: package '{package}' of '{runtime.helper_module}' not found in the tree"
        )
    helper = tree.relative(folders[0] / f"{name}.py")
    assert helper is not None
    prefix = profile.probes.prefix if probes else None
    # what an earlier merge fused stays: its files still test its flags, read its options and name its branches
    earlier = texts.read(helper)
    flags = flags_in(earlier) | {flag for path in texts.current for flag in flags_in(texts.current[path])}
    adaptor_options, branches = with_earlier_merge(earlier, adaptor_options, branches)
    parses = {**earlier_argv_parses(earlier), **(argv_parses or {})}
    texts.write(
        helper,
        render_helper(
            runtime.args_accessor, prefix, adaptor_options, branches, deferred, flags, parses, unknown_args, adjusters
        ),
    )
    if not needs_setter:
        return
    module, _, function = runtime.args_setter.rpartition(".")
    setter_file = tree.relative(tree.module_file(module))
    if setter_file is None:
        raise MergeAborted(f"runtime.args_setter: module '{module}' not found in the tree")
    try:
        hooked = file_edits.hook_args_setter(texts.read(setter_file), function, setter_file)
    except file_edits.EditError as exc:
        raise MergeAborted(str(exc)) from None
    if hooked != texts.read(setter_file) and file_edits.BLOCK_START not in hooked:
        hooked = hooked.rstrip("\n") + "\n\n\n" + file_edits.helper_import_block(runtime.helper_module)
    texts.write(setter_file, hooked)


def run_fixups(hooks: pluggy.PluginManager, texts: Texts, root: Path, profile: Profile) -> None:
    for changes in hooks.hook.post_merge_fixup(files=dict(texts.current), root=root, profile=profile):
        for path, text in (changes or {}).items():
            texts.write(Path(path), text)


def validated_edits(texts: Texts, in_source: InSourceResult) -> list[FileEdit]:
    """Every edit, when each written file compiles and reads no new undefined name; else nothing is written."""
    edits = texts.edits()
    problems = [
        problem
        for edit in edits
        for problem in check_file(
            edit.path,
            texts.original[edit.path],
            texts.current[edit.path],
            # moved code keeps what pyflakes already said of it where it came from (a name read after `del`)
            [texts.original.get(origin) or texts.read(origin) for origin in in_source.origins.get(edit.path, ())],
        )
    ]
    if problems:
        raise MergeAborted("the merge would write invalid code, so nothing was written:\n  " + "\n  ".join(problems))
    return edits


def repeated_wrapper_warnings(plan: Plan, places: dict[tuple[str, str], list[str]]) -> list[str]:
    """A replacement registered twice replaces twice with the same object; a wrapper wraps twice if both run."""
    wrappers = {(pp.patch.target, pp.patch.patch_import) for pp in plan.patches if pp.kind is FusionKind.WRAP}
    return [
        f"wrapper {patch} on {target} is registered at {', '.join(where)}: all are disabled and it is fused "
        "once, as the patch JSON lists it once; if more than one of them runs, the runtime wraps more than once"
        for (target, patch), where in places.items()
        if len(where) > 1 and (target, patch) in wrappers
    ]


def needs_setter(deferred: list[Site]) -> bool:
    return any(site.mechanism is Mechanism.VALUE for site in deferred)
