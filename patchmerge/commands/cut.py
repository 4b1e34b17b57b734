"""`patchmerge cut PATCH_JSON`: count or slice a patch file (index range, target prefix, kind), same format out."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from patchmerge.cutting import Selection, count_text, cut
from patchmerge.errors import EXIT_OK, PatchmergeError
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file, write_patch_file
from patchmerge.profile import load_profile


def run(args: argparse.Namespace) -> int:
    selection = Selection(left=args.left, right=args.right, target_prefix=args.target_prefix, kind=args.kind)
    if selection.empty and not args.count:
        raise PatchmergeError("cut needs --count or a selector: --left L --right R, --target-prefix P, --kind K")
    profile = load_profile(args.profile or "example")
    pm = make_plugin_manager(profile)
    source = Path(args.patch_json)
    patch_set = load_patch_file(source, pm, profile)
    suffixes = profile.runtime.wrapper_suffixes
    kept = cut(patch_set, selection, suffixes)
    if args.count:
        print(count_text(patch_set, kept, suffixes))
        return EXIT_OK
    if args.output:
        out = Path(args.output)
        write_patch_file(patch_set, kept, out, pm)
        targets = len({p.target for p in kept})
        print(f"kept {len(kept)} of {len(patch_set)} patches on {targets} targets -> {out}")
        return EXIT_OK
    with tempfile.TemporaryDirectory(prefix="patchmerge-cut-") as tmp:
        out = Path(tmp) / f"cut{source.suffix}"
        write_patch_file(patch_set, kept, out, pm)
        sys.stdout.write(out.read_text(encoding="utf-8"))
    return EXIT_OK
