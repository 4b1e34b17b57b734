"""The plugin host: built-ins first, then entry points, then a profile's own plugins."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pluggy

from patchmerge import hookspecs
from patchmerge.errors import PatchmergeError
from patchmerge.profile import Profile, check_plugin_tables

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "patchmerge"
# Comma-separated entry-point names to load (all when unset, none when empty): for isolating a bad plugin.
ENV_ONLY = "PATCHMERGE_PLUGINS"
# Set to 1 to print every hook call with its arguments and result, for plugin authors.
ENV_TRACE = "PATCHMERGE_TRACE"

BUILTIN_PLUGINS = (
    "patchmerge.formats.json_format",
    "patchmerge.plan.static_resolution",
    "patchmerge.plan.fidelity",
    "patchmerge.fusion.builtin_strategy",
    # log formats for coverage: registered later is asked first, so plain (trylast) < msrun < multirank
    "patchmerge.coverage.logs.plain",
    "patchmerge.coverage.logs.msrun",
    "patchmerge.coverage.logs.multirank",
    "patchmerge.check.local_runner",
)


class PluginError(PatchmergeError):
    """A plugin that cannot be found, imported or registered."""


def make_plugin_manager(profile: Profile | None = None, *, load_entry_points: bool = True) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if load_entry_points:
        _load_entry_points(pm)
    if profile is not None:
        for spec in profile.plugins:
            _register_profile_plugin(pm, spec, profile)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin implements an unknown hook: {exc}") from None
    if profile is not None:  # a plugin's table is checked now, before any work, like the built-in sections
        declared: dict[str, type | tuple[type, dict[str, type]]] = {}
        for sections in reversed(pm.hook.profile_sections()):
            declared.update(sections)
        check_plugin_tables(profile, declared)
    if os.environ.get(ENV_TRACE) == "1":
        pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
        pm.enable_tracing()
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    only = os.environ.get(ENV_ONLY)
    wanted = None if only is None else [n for n in (n.strip() for n in only.split(",")) if n]
    found = entry_points(group=ENTRY_POINT_GROUP)
    for ep in found:
        if (wanted is not None and ep.name not in wanted) or pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
            continue
        dist = f" (from {ep.dist.name})" if ep.dist is not None else ""
        try:
            plugin = ep.load()
        except Exception as exc:  # a third-party plugin's own bug: name it, keep our CLI traceback-free
            raise PluginError(
                f"entry-point plugin '{ep.name}'{dist} = {ep.value} failed to load: {type(exc).__name__}: {exc}"
            ) from None
        try:
            pm.register(plugin, name=ep.name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(f"entry-point plugin '{ep.name}'{dist} cannot be registered: {exc}") from None
    for name in wanted or ():
        if not pm.has_plugin(name):
            raise PluginError(f"{ENV_ONLY} names '{name}', but no installed plugin has that entry-point name")


def _register_profile_plugin(pm: pluggy.PluginManager, spec: str, profile: Profile) -> None:
    """A profile lists a plugin as an importable module name or a .py path (relative to the profile)."""
    where = str(profile.path) if profile.path else None
    if spec.endswith(".py"):
        path = Path(spec)
        if not path.is_absolute() and profile.path is not None:
            path = profile.path.parent / path
        module = _import_file(path, where)
    else:
        try:
            module = importlib.import_module(spec)
        except ImportError as exc:
            raise PluginError(f"plugin '{spec}' listed in 'plugins' cannot be imported: {exc}", where=where) from None
        except Exception as exc:  # a plugin's own bug: name it, keep our CLI traceback-free
            message = f"plugin '{spec}' listed in 'plugins' failed to import: {type(exc).__name__}: {exc}"
            raise PluginError(message, where=where) from None
    if pm.is_registered(module):
        return
    try:
        pm.register(module, name=f"profile:{spec}")
    except ValueError:
        return  # already registered under this name (e.g. also an entry point)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin '{spec}' is not valid: {exc}", where=where) from None


def _import_file(path: Path, where: str | None) -> ModuleType:
    if not path.is_file():
        raise PluginError(f"plugin file not found: {path}", where=where)
    name = f"patchmerge_profile_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a plugin's own bug: name the file, keep our CLI traceback-free
        raise PluginError(f"plugin file {path} failed to import: {type(exc).__name__}: {exc}", where=where) from None
    return module
