"""TOML profiles: what a project's tree looks like and how to treat it. Validated strictly."""

from __future__ import annotations

import difflib
import tomllib
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from patchmerge import bundled
from patchmerge.conditions import BUILTIN_NAMES
from patchmerge.errors import ProfileError
from patchmerge.markers import STATE_DIR
from patchmerge.profile_runtime import check_runtime, is_entry


@dataclass(frozen=True)
class Sources:
    roots: tuple[str, ...]  # sub-folders of ROOT_DIR, in sys.path order
    rewritable: tuple[str, ...]  # top-level packages the tool may rewrite
    # libraries every machine that runs the tree has (top-level import names), besides those the requirements
    # files at the top of the roots name: a merge never makes a module need a library not counted here that it
    # did not need before (see patchmerge.source.libraries)
    installed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Registrations:
    files: tuple[str, ...] = ()  # relative to ROOT_DIR
    calls: tuple[str, ...] = ()  # dotted call shapes, e.g. "MegatronAdaptation.register"


@dataclass(frozen=True)
class Runtime:
    args_accessor: str = "megatron.training.get_args"  # called with no arguments in fused conditions
    semantics: str = "2.1.0"  # which MindSpeed patch_utils behaviour the fusion reproduces
    wrapper_suffixes: tuple[str, ...] = ("wrapper", "decorator")
    # the function that stores the parsed args: fused classes and values settle when it is called
    args_setter: str = "megatron.training.global_vars.set_args"
    # the runtime helper a merge writes into the tree (stdlib only); its package must be rewritable
    helper_module: str = "megatron._patchmerge"
    # files (globs under ROOT_DIR) whose add_argument calls make the adaptor's own parse of the command line,
    # the args the runtime decides conditions from (SPEC 3.11); none: conditional bindings are deferred
    adaptor_args_files: tuple[str, ...] = ()
    # options the adaptor changes after its parse (from the environment, say): conditions reading them are
    # left to the deferred strategy, as a parse of the command line alone would get them wrong
    adaptor_args_changed: tuple[str, ...] = ()
    # the adaptor adds each option its parser does not know to its args (MindSpeed-LLM 26.1.0's
    # parser_unknown_args): `--name` alone gives args.name = True, with one value that string, with several their
    # list; conditions that read such a name with getattr(args, name, default) or hasattr are then decided too
    adaptor_unknown_args: bool = False
    # functions the adaptor calls on its parse before conditions read it ("REL/FILE.py::function", in order),
    # such as MindSpeed-LLM's get_env_args: the helper carries each (stdlib only) and calls it on its own parse
    adaptor_args_adjust: tuple[str, ...] = ()
    # options the adaptor adds only when a condition over its parse so far holds ("REL/FILE.py::function if
    # CONDITION": the function's add_argument calls, CONDITION over `args`), such as MindSpeed-LLM 26.1.0's
    # MindSpore options: "...mindspore_adaptor_v2.py::mindspore_register_args if args.ai_framework == 'mindspore'"
    adaptor_args_guarded: tuple[str, ...] = ()
    # the function that makes the adaptor's parse ("REL/FILE.py::Qual.name", MindSpeed-LLM 26.1.0's
    # FeatureAdaptor.get_mindspeed_llm_args), walked as collect walks the adaptor: only the add_argument calls of
    # adaptor_args_files it reaches count (a feature that is not in the adaptor's list adds nothing)
    adaptor_args_entry: str = ""


@dataclass(frozen=True)
class Probes:
    enabled: bool = True
    format: str = "json-line"
    prefix: str = "[patchmerge-probe]"


@dataclass(frozen=True)
class Check:
    model_shell: str = ""  # relative to the MindSpeed-LLM root
    pattern: str = ""
    regex: bool = False
    timeout: float = 3600.0
    log_files: tuple[str, ...] = ("msrun_log/worker_*.log",)  # relative to the script's working folder
    shell_root: str = "MindSpeed-LLM"  # the source root the model shell is relative to and runs in
    strict_merge: bool = False  # a patch the merge cannot fuse fails the check (default: it stays a runtime patch)
    # folders of the shell root the script writes into (logs, --save): each check gets its own copy
    write_dirs: tuple[str, ...] = ("logs",)


@dataclass(frozen=True)
class Bisect:
    state_dir: str = f"{STATE_DIR}/bisect"
    jobs: int = 1


@dataclass(frozen=True)
class Collect:
    """How `collect` follows the adaptor (SPEC section 8): what runs, in order, and which calls mean what."""

    # executed in order: "REL/FILE.py::Qual.name" calls that function or method (no arguments), "REL/FILE.py"
    # runs the module's top-level code (e.g. the module that fills a features list when imported)
    entry: tuple[str, ...] = ()
    # calls that apply a collection's registered patches (ending a phase), e.g. "MegatronAdaptation.apply"
    apply_calls: tuple[str, ...] = ()
    # what reads the parsed args: calls written with "()" (e.g. "MegatronAdaptation.get_args()") and parameter
    # names (e.g. "args") that hold the args when nothing is passed for them
    args_spellings: tuple[str, ...] = ("get_args()", "args")
    # calls that change registered patches in ways collect does not model (reported unreadable where reached)
    opaque_calls: tuple[str, ...] = ()
    # decorators whose functions are followed as if undecorated (they call the function through)
    follow_decorators: tuple[str, ...] = ()
    # keep patches whose target lies outside sources.rewritable (torch, apex, ...): merge cannot fuse them
    keep_outside: bool = False
    # collect `Module.name = f` / `Class.attr = f` assignments the walk executes as patches (they monkey-patch
    # directly, taking effect at once: they get a phase of their own before the next apply)
    direct_assignments: bool = False


@dataclass(frozen=True)
class Conditions:
    # builtins a condition may read besides the default ones (patchmerge.conditions.ALLOWED_BUILTINS)
    allowed_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    name: str
    sources: Sources
    path: Path | None = None
    description: str = ""
    patch_json: str = ""  # relative to ROOT_DIR
    plugins: tuple[str, ...] = ()
    registrations: Registrations = field(default_factory=Registrations)
    runtime: Runtime = field(default_factory=Runtime)
    probes: Probes = field(default_factory=Probes)
    check: Check = field(default_factory=Check)
    bisect: Bisect = field(default_factory=Bisect)
    collect: Collect = field(default_factory=Collect)
    conditions: Conditions = field(default_factory=Conditions)
    # tables no built-in section reads (e.g. [slurm]), kept raw for the plugins that declare them
    tables: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)


_SECTIONS: dict[str, type] = {
    "sources": Sources,
    "registrations": Registrations,
    "runtime": Runtime,
    "probes": Probes,
    "check": Check,
    "bisect": Bisect,
    "collect": Collect,
    "conditions": Conditions,
}
_NOT_KEYS = ("path", "tables", *_SECTIONS)  # Profile fields that are not top-level keys of the file


def section_types(cls: type, leave_out: tuple[str, ...] = ()) -> dict[str, type]:
    """The TOML type of each key of a profile section, read from its dataclass's fields: str, int, float, bool,
    or tuple for a list of strings (`tuple[str, ...]`)."""
    hints = typing.get_type_hints(cls)
    keys = [f.name for f in fields(cls) if f.init and f.name not in leave_out]
    return {key: _toml_type(hints[key], f"{cls.__name__}.{key}") for key in keys}


def _toml_type(hint: Any, where: str) -> type:
    if hint in (str, int, float, bool):
        return hint  # type: ignore[no-any-return]
    if typing.get_origin(hint) is tuple and typing.get_args(hint) == (str, ...):
        return tuple
    raise TypeError(f"{where}: a profile key is str, int, float, bool or tuple[str, ...], not {hint}")


def _required(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if f.init and f.default is MISSING and f.default_factory is MISSING]


_TOP_LEVEL = section_types(Profile, leave_out=_NOT_KEYS)
_REQUIRED: tuple[tuple[str | None, str], ...] = tuple(
    [(None, key) for key in _required(Profile) if key not in _NOT_KEYS]
    + [(name, key) for name, cls in _SECTIONS.items() for key in _required(cls)]
)
# lists that must not be empty: no roots or no rewritable package leaves nothing to do, and no wrapper
# suffix would make every patch a replacement
_NON_EMPTY = ("sources.roots", "sources.rewritable", "runtime.wrapper_suffixes")
SEMANTICS = ("2.1.0", "2.2.0")  # MindSpeed patch_utils behaviours the fusion can reproduce (SPEC section 8)
PROBE_FORMATS = ("json-line",)  # how a fused branch announces itself: prefix + one JSON object per line


def find_profile(spec: str) -> Path:
    """`spec` is a path to a TOML file or the name of a bundled profile (file name without .toml)."""
    candidate = Path(spec)
    if candidate.suffix == ".toml" or candidate.exists() or "/" in spec:
        if candidate.is_dir():
            raise ProfileError(f"profile {spec} is a folder; give a profile's .toml file or a bundled name")
        if not candidate.is_file():
            raise ProfileError(f"profile file not found: {spec}")
        return candidate
    bundled_file = bundled.configs_dir() / f"{spec}.toml"
    if bundled_file.is_file():
        return bundled_file
    names = sorted(p.stem for p in bundled.configs_dir().glob("*.toml"))
    raise ProfileError(f"no profile named '{spec}'; bundled profiles: {', '.join(names) or 'none'}")


def load_profile(spec: str | Path, overrides: tuple[str, ...] = ()) -> Profile:
    """`overrides`: `--set KEY=VALUE` items (`slurm.partition=debug`), applied before the profile is checked."""
    path = find_profile(str(spec))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ProfileError("not UTF-8 text", where=str(path)) from None
    except OSError as exc:
        raise ProfileError(f"cannot read profile: {exc.strerror or exc}", where=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"not valid TOML: {exc}", where=str(path)) from None
    except RecursionError:
        raise ProfileError("not valid TOML: nested too deeply", where=str(path)) from None
    for item in overrides:
        _override(data, item)
    return profile_from_dict(data, path)


@dataclass(frozen=True)
class _Given:
    """A value from `--set`: its text, and that text read as TOML; which one a key gets depends on its type."""

    text: str
    value: Any


def _override(data: dict[str, Any], item: str) -> None:
    key, equals, text = item.partition("=")
    *tables, last = key.strip().split(".")
    if not equals or not last or not all(tables):
        raise ProfileError(f"--set takes KEY=VALUE (e.g. slurm.partition=debug), got {item!r}")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    here = data
    for table in tables:
        here = here.setdefault(table, {})
        if not isinstance(here, dict):
            raise ProfileError(f"--set {key}: '{table}' is not a table")
    here[last] = _Given(text, value)


def profile_from_dict(data: dict[str, Any], path: Path | None = None) -> Profile:
    where = str(path) if path else "<profile>"
    allowed = set(_TOP_LEVEL) | set(_SECTIONS)
    tables: dict[str, dict[str, Any]] = {}
    for key in data:
        if key in allowed:
            continue
        # a table may belong to a plugin (checked once plugins are loaded), unless it is a misspelt section
        if not isinstance(data[key], dict) or _suggest(key, _SECTIONS):
            raise ProfileError(f"unknown key '{key}'{_suggest(key, allowed)}", where=where)
        tables[key] = data[key]
    for name in _SECTIONS:
        if name in data and not isinstance(data[name], dict):
            raise ProfileError(f"'{name}' must be a table, got {_type_name(data[name])}", where=where)
    missing = [
        key if section is None else f"{section}.{key}"
        for section, key in _REQUIRED
        if key not in (data if section is None else data.get(section, {}))
    ]
    if missing:
        listed = ", ".join(f"'{m}'" for m in missing)
        raise ProfileError(f"missing required key{'s' if len(missing) > 1 else ''} {listed}", where=where)
    top = {key: _convert(data[key], kind, key, where) for key, kind in _TOP_LEVEL.items() if key in data}
    sections = {name: _section(data.get(name, {}), cls, name, where) for name, cls in _SECTIONS.items()}
    if sections["probes"].format not in PROBE_FORMATS:
        raise ProfileError(
            f"'probes.format' must be one of {', '.join(repr(v) for v in PROBE_FORMATS)}, "
            f"got {sections['probes'].format!r}",
            where=where,
        )
    if sections["runtime"].semantics not in SEMANTICS:
        raise ProfileError(
            f"'runtime.semantics' must be one of {', '.join(repr(v) for v in SEMANTICS)}, "
            f"got {sections['runtime'].semantics!r}",
            where=where,
        )
    for entry in sections["collect"].entry:
        if not is_entry(entry, "::" in entry):
            raise ProfileError(
                f"'collect.entry' item {entry!r} must be 'REL/FILE.py' or 'REL/FILE.py::Qual.name'", where=where
            )
    check_runtime(sections["runtime"], where)
    for name in sections["conditions"].allowed_names:
        if name not in BUILTIN_NAMES or name.startswith("__"):
            what = "reaches the interpreter's internals" if name.startswith("__") else "is not a Python builtin"
            raise ProfileError(
                f"'conditions.allowed_names' item {name!r} {what} (conditions read args and their "
                "condition_import names already; this list adds builtins)",
                where=where,
            )
    return Profile(path=path, **top, **sections, tables=tables)


SectionT = TypeVar("SectionT")


def plugin_section(profile: Profile, name: str, cls: type[SectionT], types: dict[str, type] | None = None) -> SectionT:
    """A plugin's own table of the profile (`[name]`, absent: the defaults), read like a built-in section: an
    unknown key, a wrong type, or a value the dataclass refuses (ValueError) is an error naming the key and file.
    The keys and their types are the dataclass's fields (`types` only narrows them, for older plugins)."""
    where = str(profile.path) if profile.path else "<profile>"
    try:
        return _section(profile.tables.get(name, {}), cls, name, where, types)  # type: ignore[no-any-return]
    except ValueError as exc:
        raise ProfileError(str(exc), where=where) from None
    except TypeError as exc:  # the plugin's dataclass has a field no TOML value can give: its bug, named
        raise ProfileError(f"the plugin's [{name}] table cannot be read: {exc}", where=where) from None


def check_plugin_tables(profile: Profile, declared: dict[str, type | tuple[type, dict[str, type]]]) -> None:
    """Every table of the profile outside the built-in sections must be one a loaded plugin declares."""
    where = str(profile.path) if profile.path else "<profile>"
    for name in profile.tables:
        if name not in declared:
            hint = _suggest(name, declared) or f" (no loaded plugin reads a [{name}] table)"
            raise ProfileError(f"unknown key '{name}'{hint}", where=where)
        section = declared[name]
        plugin_section(profile, name, *(section if isinstance(section, tuple) else (section,)))
    for name, section in declared.items():  # a table with a required key must be there
        if name not in profile.tables:
            plugin_section(profile, name, *(section if isinstance(section, tuple) else (section,)))


def _section(raw: dict[str, Any], cls: type, name: str, where: str, types: dict[str, type] | None = None) -> Any:
    types = section_types(cls) if types is None else types
    for key in raw:
        if key not in types:
            raise ProfileError(f"unknown key '{name}.{key}'{_suggest(key, types)}", where=where)
    values = {key: _convert(value, types[key], f"{name}.{key}", where) for key, value in raw.items()}
    missing = [key for key in _required(cls) if key not in values]
    if missing:  # a plugin's table (the built-in sections' required keys are checked before, all at once)
        listed = ", ".join(f"'{name}.{key}'" for key in missing)
        raise ProfileError(f"missing required key{'s' if len(missing) > 1 else ''} {listed}", where=where)
    return cls(**values)


def _convert(value: Any, kind: type, key: str, where: str) -> Any:
    if isinstance(value, _Given):  # --set slurm.time=30 is the text "30", --set slurm.nodes=2 the number 2
        value = value.text if kind is str else value.value
    if kind is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ProfileError(f"'{key}' must be a list of strings, got {_type_name(value)}", where=where)
        if key in _NON_EMPTY and (not value or "" in value):
            raise ProfileError(f"'{key}' must not be empty nor hold an empty string", where=where)
        return tuple(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise ProfileError(f"'{key}' must be {kind.__name__}, got {_type_name(value)}", where=where)
    return value


def _type_name(value: Any) -> str:
    return {list: "a list", dict: "a table", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)


def _suggest(key: str, allowed: Any) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
