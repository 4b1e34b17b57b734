"""Run a model script with a patch file applied at runtime by the reference patcher.

    python -m tests.reference.run_patched --patches P --args MODULE:ATTR [--semantics S] -- SCRIPT [ARG ...]

`--args` names a callable returning the parsed args the conditions read (as the adaptor's `get_args`); the
patches whose conditions hold are applied before the script runs, then the script runs as `__main__` with
`sys.argv = [SCRIPT, ARG, ...]`. This is the runtime side of a differential run: the same script on a fused
tree, with no patch registered, must print the same.
"""

from __future__ import annotations

import argparse
import importlib
import json
import runpy
import sys
from functools import reduce
from pathlib import Path

from patchmerge.formats import json_format
from tests.reference.runtime_patcher import apply_patch_specs


def _load_callable(spec: str):
    module_name, _, attr_path = spec.partition(":")
    return reduce(getattr, attr_path.split("."), importlib.import_module(module_name))


def _load_patches(path: Path):
    return json_format.parse(path.read_text(encoding="utf-8"), path).patches


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.reference.run_patched")
    parser.add_argument("--patches", type=Path, required=True)
    parser.add_argument("--args", required=True, metavar="MODULE:ATTR")
    parser.add_argument("--semantics", default="2.1.0")
    parser.add_argument("--record", type=Path, help="write the ids of the patches applied (conditions held) here")
    parser.add_argument("script")
    parser.add_argument("script_args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    script = Path(options.script).resolve()
    sys.argv = [str(script), *options.script_args]
    sys.path.insert(0, str(script.parent))
    args = _load_callable(options.args)()
    applied = apply_patch_specs(_load_patches(options.patches), args, options.semantics)
    if options.record:
        options.record.write_text(json.dumps(applied))
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
