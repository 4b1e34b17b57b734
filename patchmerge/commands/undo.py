"""`patchmerge undo ROOT_DIR`: restore the files of the last merge byte for byte."""

from __future__ import annotations

import argparse
from pathlib import Path

from patchmerge.errors import EXIT_OK, RootDirError
from patchmerge.fusion.transaction import undo_last


def run(args: argparse.Namespace) -> int:
    root = Path(args.root_dir)
    if not root.is_dir():
        raise RootDirError(f"ROOT_DIR {root} does not exist or is not a folder")
    restored = undo_last(root, force=args.force)
    print(f"restored {len(restored)} file(s) of the last merge in {root}")
    for path in restored:
        print(f"  {path}")
    return EXIT_OK
