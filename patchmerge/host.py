"""The plugin host: built-ins first, then entry points, then a profile's own plugins."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

import pluggy

from patchmerge import hookspecs
from patchmerge.errors import PatchmergeError
from patchmerge.profile import Profile

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "patchmerge"
# Comma-separated entry-point names to load (all when unset, none when empty): for isolating a bad plugin.
ENV_ONLY = "PATCHMERGE_PLUGINS"
# Set to 1 to print every hook call with its arguments and result, for plugin authors.
ENV_TRACE = "PATCHMERGE_TRACE"

BUILTIN_PLUGINS = (
    "patchmerge.formats.json_format",
    "patchmerge.planning.static_resolution",
    "patchmerge.planning.fidelity",
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
    if os.environ.get(ENV_TRACE) == "1":
        pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
        pm.enable_tracing()
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    only = os.environ.get(ENV_ONLY)
    if only is None:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        return
    for name in filter(None, (n.strip() for n in only.split(","))):
        if pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name) == 0 and not pm.has_plugin(name):
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
