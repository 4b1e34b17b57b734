"""Write in-source bindings: the code that runs, at each patched definition (SPEC sections 3.2, 3.10, 3.12).

- a replacement's def moves to the target's place under the target's name and the original leaves the source;
  the patch module imports the name back from there, so there is one definition;
- wrappers apply right after the def, `name = wrapper(name)`, the first registered innermost; a wrapper's def
  moves beside the target (its module could not be imported there without risking a cycle);
- each fused definition carries one comment line per patch naming it and where it was registered, and, with
  probes, one statement that reports its branches the first time the code runs.

Every file is parsed once; all of a file's edits are planned against that parse and applied in one pass. A
binding that cannot be written this way is left to the deferred strategy with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from libcst.codemod.visitors import ImportItem

from patchmerge.fusion.insource.adaptor_args import Option
from patchmerge.fusion.insource.aliases import plan_alias
from patchmerge.fusion.insource.apply import COMMENT, Apply, FileOps, Key, Place
from patchmerge.fusion.insource.back_imports import back_import
from patchmerge.fusion.insource.beside import (
    beside_replacement,
    branch_chain,
    calling_the_original,
    keep_original,
)
from patchmerge.fusion.insource.binding import Binding, overridden_note
from patchmerge.fusion.insource.bodies import (
    ImportTimeReads,
    as_module_value,
    blank_lines,
    body_of,
    bound_as_staticmethod,
    is_named,
    kept_for_state,
    read_at_import,
    refuse_reading_a_patched_def,
    refuse_reading_the_original,
    single_def,
    with_first_statement,
)
from patchmerge.fusion.insource.branches import adaptation_statements, grouped, if_chain
from patchmerge.fusion.insource.carry import ImportLine
from patchmerge.fusion.insource.class_branches import plan_class_branches
from patchmerge.fusion.insource.classes import plan_class, plan_value, refuse_other_holders
from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.flags import binds_torch_as_loaded, flag_global, helper_flag_test, with_flags
from patchmerge.fusion.insource.implicit import plan_implicit
from patchmerge.fusion.insource.import_graph import ImportGraph
from patchmerge.fusion.insource.imports import add_imports, add_type_checking_imports
from patchmerge.fusion.insource.module_info import ModuleInfo
from patchmerge.fusion.insource.moving import MovedFunction, bound_alike, move_function
from patchmerge.fusion.insource.reexports import Reexports
from patchmerge.fusion.insource.reuse import bind_reused
from patchmerge.fusion.insource.values import check_holders, plan_value_branches, unbound_until_chosen
from patchmerge.fusion.insource.wrapping import wrap_statements
from patchmerge.fusion.runtime_template import pending_flag
from patchmerge.fusion.stanza import HELPER_ALIAS, normalise
from patchmerge.fusion.value_holders import ValueHolders
from patchmerge.model import DefKind, PlannedPatch


@dataclass
class Context:
    read: Callable[[Path], str]
    rewritable: tuple[str, ...]
    helper_module: str
    probes: bool
    registered_at: Callable[[PlannedPatch], str]  # "file:line" of the registration, for the comment
    semantics: str = "2.1.0"  # MindSpeed's patch_utils behaviour: from 2.2.0 a wrapper registered twice wraps once
    peek: Callable[[Path], str | None] = lambda path: None  # a file's text if it exists (a package's __init__)
    imports: ImportGraph | None = None  # what importing a module imports, for imports this merge adds
    installed: frozenset[str] | None = None  # libraries every machine has (None: not asked)
    # (file, qualname) of the definition a dotted name resolves to (None: it does not, or not asked)
    defined_at: Callable[[str], tuple[Path, str] | None] | None = None
    patched: frozenset[tuple[Path, str]] = frozenset()  # (file, qualname) of each module-level def a site patches
    # who else holds a module value under its name (module, name, the patch_import replacing it always, if one)
    holders: Callable[[str, str, str | None], ValueHolders] | None = None
    # the modules the adaptor imports before it patches anything (its args files and what they import): a
    # back-import there must not import what none of them did, or Megatron would load before the adaptor's
    # pre-patches (library stand-ins) run
    early: frozenset[str] = frozenset()


class InSourceWriter:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.infos: dict[Path, ModuleInfo] = {}
        self.ops: dict[Path, FileOps] = {}
        self.moved: dict[str, tuple[Path, str]] = {}  # patch_import -> (file it moved to, name there)
        self.moved_anchor: dict[str, str] = {}  # patch_import -> the top-level def it moved above
        self.options: dict[str, Option] = {}  # the adaptor options the fused conditions read, by dest
        self.origins: dict[Path, set[Path]] = {}  # file -> the files whose code moved into it
        self.moved_to: dict[str, str] = {}  # patch_import -> the module it moved to
        self.reexports = Reexports(context.peek, self.infos, context.defined_at)
        self.branches: dict[str, tuple[str, str]] = {}  # probe id -> (patch_import, condition)
        self.moved_defs: dict[Path, dict[str, cst.BaseStatement]] = {}  # file -> name -> the def moved there
        self.earlier_aliases: dict[tuple[Path, str], str] = {}
        self.moved_places: dict[str, tuple[Place, bool]] = {}  # patch_import -> where it moved, decorated
        self.wanted: dict[Path, set[str]] = {}  # file -> top-level defs of it that patches name
        self.import_time_reads: ImportTimeReads = {}
        self.kept_in_place: set[str] = set()  # patch_imports a branch imports from their own module: never moved

    def info(self, path: Path, module: str, is_package: bool = False) -> ModuleInfo:
        if path not in self.infos:
            try:
                wanted = frozenset(self.wanted.get(path, ()))
                self.infos[path] = ModuleInfo.parse(module, self.context.read(path), is_package, wanted)
            except cst.ParserSyntaxError as exc:
                raise CannotMove(f"{path} cannot be parsed ({exc.message})") from None
        return self.infos[path]

    def add(self, binding: Binding) -> None:
        """Plan `binding`'s edits; raise CannotMove (and change nothing) when it cannot be written in source."""
        staged = {path: ops.copy() for path, ops in self.ops.items()}
        moved, options, moved_to = dict(self.moved), dict(self.options), dict(self.moved_to)
        origins = {path: set(files) for path, files in self.origins.items()}
        moved_defs, earlier_aliases = {p: dict(d) for p, d in self.moved_defs.items()}, dict(self.earlier_aliases)
        moved_places, kept_in_place = dict(self.moved_places), set(self.kept_in_place)
        added = {m: set(v) for m, v in self.context.imports.added.items()} if self.context.imports else {}
        self.notes: list[tuple[PlannedPatch, str]] = []  # fidelity notes, kept only if the binding is written
        try:
            self._plan(binding)
            for pp, note in self.notes:
                pp.notes.append(note)
            for pp in binding.patches:  # what each probe id names, for coverage
                when = " and ".join(normalise(c) for c in pp.patch.condition)
                self.branches[pp.patch.id] = (pp.patch.patch_import, when)
        except CannotMove:
            self.ops, self.moved, self.options, self.origins = staged, moved, options, origins
            self.moved_to, self.moved_defs, self.earlier_aliases = moved_to, moved_defs, earlier_aliases
            self.moved_places, self.kept_in_place = moved_places, kept_in_place
            if self.context.imports is not None:
                self.context.imports.added = added
            raise

    def file_ops(self, path: Path) -> FileOps:
        return self.ops.setdefault(path, FileOps())

    def locate(self, path: Path, key: Key) -> None:
        if any(key in ops.replace for p, ops in self.ops.items() if p == path):
            raise CannotMove(f"{key[1]} in {path} is rewritten for another binding")

    def _plan(self, binding: Binding) -> None:
        site = binding.site
        target = self.info(site.file, site.module, site.file.name == "__init__.py")
        if binding.importer is not None:
            refuse_other_holders(self, binding.importer)
        binding = as_module_value(binding, target)
        for pp in binding.patches:  # the conditions read such a name as the runtime does: absent, it raises
            for name in binding.unknown_reads.get(pp.patch.id, ()):
                self.notes.append((pp, f"args.{name} is read without a default and only the command line's unknown "
                                       "options give it: where it is missing, the runtime's adaptation raises "
                                       f"AttributeError, the fused tree when {site.module} is imported; where "
                                       "several such options are missing, it names the first its imports read, "
                                       "the runtime the first registered"))
        if binding.written_before and (binding.value or binding.implicit or binding.alias):
            raise CannotMove("the runtime raises for some condition values; only a def's branches write that raise")
        if binding.value and binding.branches:
            plan_value_branches(self, binding, target)
            return
        if binding.value or binding.implicit:
            (plan_value if binding.value else plan_implicit)(self, binding, target)
            return
        body, klass = body_of(target, site.owner_class)
        ops = self.file_ops(site.file)
        key: Key = (site.owner_class, site.name)
        self.locate(site.file, key)
        original = single_def(body, site.name, binding.kind is DefKind.MISSING, binding.kind is DefKind.CLASS)
        if read_at_import(body, site.name, original, self.import_time_reads):
            simple = binding.replacement and not (binding.branches or binding.wrappers or binding.written_before)
            if site.owner_class is None and isinstance(original, cst.FunctionDef) and simple:
                plan_value(self, binding, target)  # the replacement binds the name after the module's code ran
                return
            where = f"class {site.owner_class}'s body" if site.owner_class else f"{site.module}'s module-level code"
            raise CannotMove(f"{where} reads {site.name} when it runs; the runtime patches after that")
        if binding.alias:
            plan_alias(self, binding, target, original, key)
            return
        if isinstance(original, cst.ClassDef) and binding.written_before and not binding.branches:
            raise CannotMove("the runtime raises for some condition values; only a def's branches write that raise")
        if isinstance(original, cst.ClassDef):
            if any(k[0] == site.name for k in ops.replace) or site.name in ops.append:
                raise CannotMove(f"members of class {site.name} are fused in source too; the class is replaced whole")
            (plan_class_branches if binding.branches else plan_class)(self, binding, target, original, key)
            return
        if site.owner_class is not None and (None, site.owner_class) in ops.replace:
            raise CannotMove(f"class {site.owner_class} is replaced whole by another binding")
        replaced = binding.replacement is not None and isinstance(original, cst.FunctionDef)
        state = target.state_bound_in(original) if replaced else set()  # type: ignore[arg-type]
        if binding.replacement is not None and binding.replacement.patch.patch_import in self.moved_places:
            if state:
                raise CannotMove(f"the original {site.name} binds module state ('global {sorted(state)[0]}')")
            if binding.written_before:
                raise CannotMove("the runtime raises for some condition values; the reused def's binding cannot")
            bind_reused(self, binding, target, original, key)
            return
        anchor = site.owner_class or site.name
        comments = [self.comment(pp) + overridden_note(pp, binding) for pp in binding.patches]
        # the wrappers every branch gets: their ids go into each branch's probe
        always_wrapped = [pp for pp in binding.wrappers if not pp.patch.is_conditional]
        wrapped_ids = [pp.patch.id for pp in always_wrapped]
        definition: cst.FunctionDef | None = None
        # a replacement that wrappers wrap moves beside the target under its own name, so the patch module's
        # name (and every other binding of the patch) keeps the bare def, as at runtime
        replaced_beside = binding.replacement is not None and bool(binding.wrappers)
        kept_by: set[str] = set()  # the names a replacement calls the original by, which keep it
        unused: list[cst.BaseStatement] = []  # a replaced original that binds state the module's other code reads
        if state and isinstance(original, cst.FunctionDef):
            unused = [kept_for_state(original, state, body, ops.names | set(ops.imports))]
        if binding.replacement is not None and not replaced_beside:
            pp = binding.replacement
            source = self.source_info(pp)
            name = pp.source.qualname  # type: ignore[union-attr]
            self.origins.setdefault(site.file, set()).add(pp.source.file)  # type: ignore[union-attr,arg-type]
            # a module-level def replaced outright may call the original: it stays above, under those names
            keeps = site.owner_class is None and isinstance(original, cst.FunctionDef) and not binding.branches
            moved = move_function(
                source,
                name,
                site.name,
                rewritable=self.context.rewritable,
                destination=target,
                destination_class=klass,
                same_import=self.reexports.same_import,
                original=self.reexports.original_names(site) if keeps and not state else frozenset(),
            )
            if moved.original_aliases:
                assert pp.source is not None and pp.source.file is not None
                moved = calling_the_original(self, site, source, pp.source.file, moved)
                kept_by = moved.original_aliases
            refuse_reading_the_original(moved, binding, self.reexports.original_names(site, moved.reads))
            self.carry(pp, moved, site.file, target)
            definition = moved.node
            if note := bound_as_staticmethod(binding, pp, definition, target):
                definition = definition.with_changes(decorators=[cst.Decorator(cst.Name("staticmethod"))])
                self.notes.append((pp, note))
            back_import(self, pp, Place(site.module, site.owner_class, site.name, site.file), moved.node)
        elif original is not None and binding.replacement is None:
            definition = original
            always_wraps = any(not pp.patch.is_conditional for pp in binding.wrappers)
            if binding.kind is DefKind.STATICMETHOD and always_wraps and not binding.branches:
                # the runtime wraps what getattr returns: the plain function, and binds the result as it is
                definition = definition.with_changes(
                    decorators=[d for d in definition.decorators if not is_named(d.decorator, "staticmethod")]
                )
        if definition is not None and self.context.probes:
            own = binding.replacement.patch.id if binding.replacement else f"{site.targets[0].target}#original"
            definition = with_first_statement(definition, self.probe([own, *wrapped_ids], target))
            ops.helper = True
        if original is None:
            leading = blank_lines(site.owner_class)
        else:  # a replaced original's comments leave with it; a wrapped one keeps them
            keep = binding.replacement is None
            leading = [line for line in original.leading_lines if keep or line.comment is None]
        head = [*leading, *(cst.EmptyLine(comment=cst.Comment(c)) for c in comments)]
        moved_beside: list[cst.BaseStatement] = []
        if definition is not None:
            own_comments = [line for line in definition.leading_lines if line.comment is not None]
            definition = definition.with_changes(leading_lines=own_comments if binding.replacement else [])
        statements: list[cst.BaseStatement] = []
        if binding.branches:
            # a module-level function's branches may read the original: it is then kept, under their names too
            kept = site.owner_class is None and original is not None and binding.replacement is None
            reads_original: set[str] | None = set() if kept else None
            branches = branch_chain(self, binding, target, anchor, moved_beside, wrapped_ids, reads_original)
            if reads_original and definition is not None:
                statements.extend([definition, *keep_original(self, site, target, reads_original)])
                statements.append(if_chain(branches[::-1], None))
            else:
                otherwise: list[cst.BaseStatement] | None = [definition] if definition is not None else None
                if replaced_beside:  # the unconditional replacement is what no branch's condition chose
                    otherwise = beside_replacement(self, binding, target, anchor, moved_beside, always_wrapped, True)
                statements.append(if_chain(branches[::-1], otherwise))
        elif definition is not None:
            statements.append(definition)
        elif replaced_beside:
            statements.extend(beside_replacement(self, binding, target, anchor, moved_beside, always_wrapped, False))
        statements += wrap_statements(self, binding, target, anchor, moved_beside)
        if binding.written_before:  # the runtime's adaptation raises before any of it binds
            statements[:0] = adaptation_statements(binding)
            ops.helper = True  # they read the helper's parse
        if binding.branches or any(pp.patch.is_conditional for pp in binding.wrappers):
            ops.helper = True  # the conditions read the helper's parses (and the probes call it)
        statements[0] = statements[0].with_changes(leading_lines=[*head, *statements[0].leading_lines])
        if kept_by and original is not None:
            statements[:0] = [original, *keep_original(self, site, target, kept_by, "the replacement below")]
        if binding.options:
            ops.helper = True
            self.options.update({option.dest: option for option in binding.options})
        if site.owner_class is not None or original is not None:  # moved defs go above the class or the def
            ops.before.setdefault(anchor, []).extend(moved_beside)
            moved_beside = []
        if original is None:
            moved_beside += unbound_until_chosen(site, binding, moved_beside)
            ops.append.setdefault(site.owner_class, []).extend([*moved_beside, *statements])
            ops.names.add(site.name)
            if site.owner_class is None:  # a new module-level name: the runtime binds it to None first
                check_holders(self, binding)
        else:
            ops.replace[key] = [*statements, *unused]

    def _safe_at_import(self, target: ModuleInfo) -> Callable[[ImportLine], bool]:
        """Whether an import may run while `target` is importing: importing its module never imports target."""
        graph = self.context.imports
        return lambda line: graph is not None and not graph.reaches(line.module, target.name)

    def bind_moved(self, pp: PlannedPatch, target: ModuleInfo, name: str, file: Path, in_place: bool = False) -> str:
        """One definition for several bindings: import it at this module's top (or `in_place`, where the caller
        puts the import) from where it moved, when importing that module never imports this one."""
        home = self.moved_to[pp.patch.patch_import]
        graph = self.context.imports
        if graph is None or graph.reaches(home, target.name):
            raise CannotMove(f"{pp.patch.patch_import} moved to {home} for another binding, and importing {home} "
                             f"imports {target.name}: importing it here could form a cycle")
        if not in_place:
            line = ImportLine(home, name)
            if target.binds(name) and not bound_alike(target, line):
                raise CannotMove(f"{target.name} already binds '{name}', the name of {pp.patch.patch_import}")
            self.module_import(file, target, line)
        graph.added.setdefault(target.name, set()).add(home)
        return name

    def source_info(self, pp: PlannedPatch) -> ModuleInfo:
        source = pp.source
        assert source is not None and source.file is not None
        if pp.patch.patch_import in self.moved:
            raise CannotMove(f"{pp.patch.patch_import} already moved for another binding")
        if pp.patch.patch_import in self.kept_in_place:
            raise CannotMove(f"{pp.patch.patch_import} stays in its module for another binding, which imports it")
        return self.info(source.file, source.module, source.file.name == "__init__.py")

    def comment(self, pp: PlannedPatch) -> str:
        role = "wrapped by" if pp.kind and pp.kind.value == "wrap" else "replaced by"
        texts = [normalise(c) for c in pp.patch.condition]
        when = f" if {' and '.join(grouped(t) if len(texts) > 1 else t for t in texts)}" if texts else ""
        return f"{COMMENT} {pp.patch.target} {role} {pp.patch.patch_import}{when} ({self.context.registered_at(pp)})"

    def probe(self, ids: list[str], module: ModuleInfo, chosen: bool = False) -> cst.BaseStatement:
        """One statement: the first time the definition runs, each of the branches it stands for is probed.
        After that a call pays one lookup: the flag the helper clears on that first run (a branch's def,
        `chosen`, is flagged only once its branch is chosen), a global of the module, or an attribute of the
        helper where the module imports torch (see `flags`: rendering decides for code moved into a module)."""
        if binds_torch_as_loaded(module.tree):
            test = helper_flag_test(pending_flag(ids[0], chosen))
        else:
            test = flag_global(ids[0], chosen)
            self.file_ops(next(path for path, info in self.infos.items() if info is module)).flags.add(test)
        return cst.parse_statement(f"if {test}:\n    {self.probe_call(ids)}\n")

    def probe_call(self, ids: list[str]) -> str:
        return f"{HELPER_ALIAS}.first_run(__name__, {', '.join(repr(i) for i in ids)})"

    def carry(self, pp: PlannedPatch, moved: MovedFunction, path: Path, target: ModuleInfo) -> None:
        """What moved code needs at its new module's top, and the note on annotations written as strings (see
        `refuse_reading_a_patched_def`)."""
        refuse_reading_a_patched_def(moved, self.context.patched, self.context.defined_at)
        for line in moved.module_imports:
            self.module_import(path, target, line)
        if moved.string_annotations:
            self.file_ops(path).type_imports.update(module for _, module in moved.string_annotations)
            names = ", ".join(dotted for dotted, _ in moved.string_annotations)
            self.notes.append((pp, f"annotations naming {names} are written as strings (importing them while "
                                   f"{target.name} loads could form a cycle): a def's __annotations__ holds the string "
                                   "unless functools.wraps replaces them"))

    def module_import(self, path: Path, target: ModuleInfo, line: ImportLine) -> None:
        ops = self.file_ops(path)
        known = ops.imports.get(line.bound)
        if known is not None and known != line:
            raise CannotMove(f"'{line.bound}' would be imported into {target.name} twice, differently")
        if known is None and line.bound in ops.names:
            raise CannotMove(f"'{line.bound}' is already a name this merge adds to {target.name}")
        ops.imports[line.bound] = line

    def render(self) -> dict[Path, str]:
        """Each planned file's new text."""
        out: dict[Path, str] = {}
        for path, ops in self.ops.items():
            info = self.infos[path]
            module = info.module.visit(Apply(ops))
            assert isinstance(module, cst.Module)
            items = [ImportItem(line.module, line.name, line.alias) for line in ops.imports.values()]
            if ops.helper:
                items.append(ImportItem(self.context.helper_module, None, HELPER_ALIAS))
            module = with_flags(add_imports(module, items), ops.flags)
            out[path] = add_type_checking_imports(module, ops.type_imports).code
        return out

