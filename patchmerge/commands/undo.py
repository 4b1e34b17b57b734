"""`patchmerge undo ROOT_DIR`: restore the files of the last merge byte for byte.

A merge or undo that was interrupted (a journal is left) is what gets undone: it is rolled back, or finished."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from patchmerge.errors import EXIT_OK, RootDirError
from patchmerge.fusion.journal import recover
from patchmerge.fusion.transaction import undo_last


def run(args: argparse.Namespace) -> int:
    root = Path(args.root_dir)
    if not root.is_dir():
        raise RootDirError(f"ROOT_DIR {root} does not exist or is not a folder")
    recovered = recover(root, force=args.force)
    if recovered:  # the interrupted merge (or undo) was the one to undo: nothing more is undone
        print(f"patchmerge: {recovered}", file=sys.stderr)
        return EXIT_OK
    restored = undo_last(root, force=args.force)
    print(f"restored {len(restored)} file(s) of the last merge in {root}")
    for path in restored:
        print(f"  {path}")
    return EXIT_OK
