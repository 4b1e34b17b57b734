"""`patchmerge collect`: derive the patch JSON from the registrations the adaptor executes (read statically).

Writes the patch JSON to `-o OUT` (default `ROOT_DIR/.patchmerge/collected.json`; `-o -` prints it to stdout)
and the provenance sidecar beside it (`collected.provenance.json`; not written with `-o -`). A one-line summary
goes to stderr. Exit status: 0 everything read, 1 something could not be read (listed in the sidecar), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from patchmerge.collection import collect, write_collected
from patchmerge.collection.writer import patch_json, summary
from patchmerge.errors import EXIT_OK, EXIT_PARTIAL, RootDirError
from patchmerge.fusion.journal import refuse_interrupted
from patchmerge.session import COLLECTED_JSON, open_session

DEFAULT_OUTPUT = COLLECTED_JSON


def run(args: argparse.Namespace) -> int:
    if args.root_dir is None:
        raise RootDirError("collect needs a ROOT_DIR")
    session = open_session(args.root_dir, args.profile)
    refuse_interrupted(session.root)
    result = collect(session.root, session.profile)
    figures = summary(result)
    if args.output == "-":
        sys.stdout.write(patch_json(result))
        where = "stdout"
    else:
        out = Path(args.output) if args.output else session.root / DEFAULT_OUTPUT
        side = write_collected(result, out)
        where = f"{out} (provenance: {side})"
    print(
        f"collect: {figures['patches']} patches on {figures['targets']} targets in {figures['phases']} phase(s); "
        f"{figures['unreadable']} unreadable, {figures['dead']} dead, {figures['outside']} outside the rewritable "
        f"packages; {figures['files_read']} files read in {figures['seconds']:.2f}s -> {where}",
        file=sys.stderr,
    )
    for item in result.unreadable:
        print(f"  unreadable: {item.site}: {item.reason}", file=sys.stderr)
    return EXIT_OK if result.complete else EXIT_PARTIAL
