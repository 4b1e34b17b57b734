"""TOML profiles: what a project's tree looks like and how to treat it. Validated strictly."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from patchmerge import bundled
from patchmerge.errors import ProfileError


@dataclass(frozen=True)
class Sources:
    roots: tuple[str, ...]  # sub-folders of ROOT_DIR, in sys.path order
    rewritable: tuple[str, ...]  # top-level packages the tool may rewrite


@dataclass(frozen=True)
class Registrations:
    files: tuple[str, ...] = ()  # relative to ROOT_DIR
    calls: tuple[str, ...] = ()  # dotted call shapes, e.g. "MegatronAdaptation.register"


@dataclass(frozen=True)
class Runtime:
    args_accessor: str = "megatron.training.get_args"  # called with no arguments in fused conditions
    semantics: str = "2.1.0"  # which MindSpeed patch_utils behaviour the fusion reproduces
    wrapper_suffixes: tuple[str, ...] = ("wrapper", "decorator")


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
    log_files: tuple[str, ...] = ("msrun_log/worker_*.log",)


@dataclass(frozen=True)
class Bisect:
    state_dir: str = ".patchmerge/bisect"
    jobs: int = 1


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

    def with_overrides(self, **changes: Any) -> Profile:
        """CLI flags win over profile values; None means 'not given'."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_SECTIONS: dict[str, type] = {
    "sources": Sources,
    "registrations": Registrations,
    "runtime": Runtime,
    "probes": Probes,
    "check": Check,
    "bisect": Bisect,
}
_TOP_LEVEL = {"name": str, "description": str, "patch_json": str, "plugins": tuple}
_REQUIRED = {("sources", "roots"), ("sources", "rewritable"), (None, "name")}


def find_profile(spec: str) -> Path:
    """`spec` is a path to a TOML file or the name of a bundled profile (file name without .toml)."""
    candidate = Path(spec)
    if candidate.suffix == ".toml" or candidate.exists() or "/" in spec:
        if not candidate.is_file():
            raise ProfileError(f"profile file not found: {spec}")
        return candidate
    bundled_file = bundled.configs_dir() / f"{spec}.toml"
    if bundled_file.is_file():
        return bundled_file
    names = sorted(p.stem for p in bundled.configs_dir().glob("*.toml"))
    raise ProfileError(f"no profile named '{spec}'; bundled profiles: {', '.join(names) or 'none'}")


def load_profile(spec: str | Path) -> Profile:
    path = find_profile(str(spec))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read profile: {exc.strerror}", where=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"not valid TOML: {exc}", where=str(path)) from None
    return profile_from_dict(data, path)


def profile_from_dict(data: dict[str, Any], path: Path | None = None) -> Profile:
    where = str(path) if path else "<profile>"
    allowed = set(_TOP_LEVEL) | set(_SECTIONS)
    for key in data:
        if key not in allowed:
            raise ProfileError(f"unknown key '{key}'{_suggest(key, allowed)}", where=where)
    for section, key in _REQUIRED:
        holder = data if section is None else data.get(section, {})
        if not isinstance(holder, dict) or key not in holder:
            dotted = key if section is None else f"{section}.{key}"
            raise ProfileError(f"missing required key '{dotted}'", where=where)
    top = {key: _convert(data[key], kind, key, where) for key, kind in _TOP_LEVEL.items() if key in data}
    sections = {name: _section(data.get(name, {}), cls, name, where) for name, cls in _SECTIONS.items()}
    return Profile(path=path, **top, **sections)


def _section(raw: Any, cls: type, name: str, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ProfileError(f"'{name}' must be a table, got {_type_name(raw)}", where=where)
    known = {f.name: f for f in fields(cls)}
    for key in raw:
        if key not in known:
            raise ProfileError(f"unknown key '{name}.{key}'{_suggest(key, known)}", where=where)
    values = {}
    for key, value in raw.items():
        annotation = known[key].type
        kind = tuple if "tuple" in annotation else {"str": str, "bool": bool, "int": int, "float": float}[annotation]
        values[key] = _convert(value, kind, f"{name}.{key}", where)
    return cls(**values)


def _convert(value: Any, kind: type, key: str, where: str) -> Any:
    if kind is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ProfileError(f"'{key}' must be a list of strings, got {_type_name(value)}", where=where)
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
