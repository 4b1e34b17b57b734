"""The hooks a plugin can implement. Built-in behaviour is registered through these same hooks.

A plugin is any module or object with functions decorated by `patchmerge.hookimpl`; it is found through the
`patchmerge` entry-point group, or listed in a profile's `plugins = [...]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from patchmerge.plugin_types import (
        Damaged,
        Definition,
        FuseContext,
        ModelRun,
        Patch,
        PatchSet,
        PlanContext,
        ProbeHit,
        Profile,
        RunOutcome,
        Site,
        TargetPlan,
    )

PROJECT = "patchmerge"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def load_patches(path: Path, text: str, profile: Profile) -> PatchSet | None:
    """Read a patch file into a PatchSet, or return None if the file is not in this plugin's format.

    Raise `patchmerge.errors.PatchFileError` naming the target, index or key for a file in your format
    that is wrong. Plugins registered later are asked first, so a plugin can take over a built-in format.
    """


@hookspec(firstresult=True)
def write_patches(patch_set: PatchSet, patches: list[Patch], path: Path) -> bool | None:
    """Write `patches` (a subset of `patch_set`) to `path` in `patch_set.format`; return True if written.

    Used for the files a user feeds back in (unresolved, unfused, not hit), so they keep the input format.
    """


@hookspec(firstresult=True)
def resolve_target(dotted: str, context: PlanContext) -> Definition | None:
    """Find where a dotted target or patch_import is defined, reading source only.

    Return None to let the next resolver try; raise `patchmerge.model.Unresolved` with a reason when the
    name certainly does not exist.
    """


@hookspec
def plan_notes(target_plan: TargetPlan, context: PlanContext) -> list[str]:
    """Extra fidelity notes for a resolved target: where fusing in source may differ from runtime patching."""


@hookspec(firstresult=True)
def fuse_site(site: Site, context: FuseContext) -> str | None:
    """Return the code to fuse at one site (a module attribute or class member and all patches that stack on
    it), appended to the site's module; or None to let the next strategy try. The built-in strategy writes
    the patch chain as a settle function and installs it with the runtime helper (`patchmerge.fusion`)."""


@hookspec
def post_merge_fixup(files: dict[Path, str], root: Path, profile: Profile) -> dict[Path, str] | None:
    """Given the merged texts of the files the merge writes (path relative to ROOT_DIR -> text), return
    {relative path: new text} for files this fixup changes (it may read other files under `root`)."""


@hookspec(firstresult=True)
def open_log(path: Path, prefix: str) -> Iterable[ProbeHit | Damaged] | None:
    """Read one log file for `coverage`: return an iterable over its probe hits (the JSON payload after each
    occurrence of `prefix`, the profile's `probes.prefix`, anywhere in a line) and a `Damaged` marker for each
    prefix whose payload cannot be read; or None to let the next format try. Plugins registered later are
    asked first.

    Read lazily and stream: logs reach gigabytes. `patchmerge.coverage.scan.LogScan` is the scanner the
    built-ins use (give it a rank hint or a default rank); a `format` attribute on the iterable names the
    format in the report. OSError while reading is reported as an unreadable log.
    """


@hookspec
def profile_sections() -> dict[str, type | tuple[type, dict[str, type]]]:
    """The profile tables this plugin reads: {name: dataclass}, each field a key whose annotation is its TOML
    type: str, int, float, bool or tuple[str, ...] (a list of strings); a field without a default is required.
    A profile's table no loaded plugin declares is an unknown key; a declared one is checked when the plugins
    are loaded, like a built-in section (unknown key, wrong type, or a ValueError from the dataclass: an error
    naming the key and the file). Read it with `patchmerge.profile.plugin_section(profile, name, dataclass)`.
    (A pair (dataclass, {key: type}) is still read, the types narrowing the fields, as older plugins gave it.)
    """


@hookspec(firstresult=True)
def run_model(run: ModelRun) -> RunOutcome | None:
    """Run the model shell of one check and wait for it; or return None to let the next runner try.

    `run.command` is the argv to start (the shell and its arguments), `run.cwd` its working folder in the
    workspace, `run.env` the full environment (PYTHONPATH points at the workspace roots), `run.log` the file
    that must receive the script's output, `run.timeout` the seconds after which it must be stopped. A runner
    that sends runs to a cluster scheduler copies the job's output into `run.log` before returning. The
    built-in runner (`patchmerge.check.local_runner`) runs a local subprocess; it is asked last.

    `run.profile` is the check's profile (a runner's own table: `profile_sections`). A runner whose run can
    outlive patchmerge (a queued job) calls `run.on_record(document)` as soon as it exists: bisect keeps it in
    its state file and hands it back as `run.record` on `--resume`, so that the runner waits for that job
    instead of starting another. When `run.stop` is set (Ctrl-C in another thread, a bisect ending early) the
    runner stops what it started and raises `patchmerge.check.model.RunStopped`.
    """
