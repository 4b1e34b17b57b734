"""What every command starts from: a ROOT_DIR, a profile, the plugins, and a patch set."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pluggy

from patchmerge import bundled
from patchmerge.errors import PatchFileError, PatchmergeError, RootDirError
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file
from patchmerge.markers import STATE_DIR
from patchmerge.model import PatchSet
from patchmerge.profile import Profile, load_profile
from patchmerge.writable import read_only_note, state_path

DEFAULT_PROFILE = "mindspeed-llm-core-r0.8.0"
EXAMPLE_PROFILE = "example"
ROOT_PROFILE_FILE = "patchmerge.toml"  # a ROOT_DIR may carry its own profile
COLLECTED_JSON = Path(STATE_DIR) / "collected.json"  # where `collect` writes by default


@dataclass
class Session:
    root: Path
    profile: Profile
    pm: pluggy.PluginManager
    is_example: bool


def open_session(root_dir: str | None, profile_spec: str | None, overrides: tuple[str, ...] = ()) -> Session:
    is_example = root_dir is None
    root = bundled.example_root() if is_example else Path(root_dir)
    if not root.exists():
        raise RootDirError(f"ROOT_DIR {root} does not exist")
    if not root.is_dir():
        raise RootDirError(f"ROOT_DIR {root} is not a folder")
    if profile_spec is None:
        own = root / ROOT_PROFILE_FILE
        profile_spec = EXAMPLE_PROFILE if is_example else (str(own) if own.is_file() else DEFAULT_PROFILE)
    profile = load_profile(profile_spec, overrides)
    missing = [r for r in profile.sources.roots if not (root / r).is_dir()]
    if missing:
        raise RootDirError(
            f"{root} is not a ROOT_DIR for profile '{profile.name}': missing {', '.join(m + '/' for m in missing)} "
            f"(expected source roots: {', '.join(profile.sources.roots)})"
        )
    return Session(root=root.resolve(), profile=profile, pm=make_plugin_manager(profile), is_example=is_example)


def patch_file_path(session: Session, patch_json: str | None, *, collect: bool = False) -> Path:
    """PATCH_JSON if given; else the profile's `patch_json`; else (or with `collect`) the JSON `collect` derives
    from the tree's registrations, written to ROOT_DIR/.patchmerge/collected.json (SPEC section 9), or to the
    tree's cache folder when ROOT_DIR is read-only."""
    if patch_json is not None and not collect:
        return Path(patch_json)
    if session.profile.patch_json and not collect:
        return session.root / session.profile.patch_json
    where = str(session.profile.path) if session.profile.path else None
    if not session.profile.collect.entry:
        raise PatchFileError(
            "no PATCH_JSON given, and the profile has neither 'patch_json' nor 'collect.entry' to derive one",
            where=where,
        )
    if collect:
        return collect_into_tree(session)
    try:
        return collect_into_tree(session)
    except PatchmergeError as exc:  # the user asked for nothing: say what was missing before what failed
        raise PatchFileError(
            f"no PATCH_JSON given and the profile has no 'patch_json', so it was to be collected, but: {exc}",
            where=where,
        ) from None


def collect_into_tree(session: Session) -> Path:
    from patchmerge.collection import collect, write_collected  # collect is only loaded when it runs

    result = collect(session.root, session.profile)
    out, moved = state_path(session.root, COLLECTED_JSON)
    if moved:  # plan, check and bisect only read the tree: they still run on a read-only install
        print(read_only_note("collected patch JSON", out), file=sys.stderr)
    write_collected(result, out)
    print(
        f"collected {len(result.patch_set)} patches on {len(result.patch_set.targets)} targets "
        f"({len(result.unreadable)} registrations unreadable, see the provenance file) -> {out}",
        file=sys.stderr,
    )
    return out


def load_session_patches(session: Session, patch_json: str | None, *, collect: bool = False) -> PatchSet:
    return load_patch_file(patch_file_path(session, patch_json, collect=collect), session.pm, session.profile)
