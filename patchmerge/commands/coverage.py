"""`patchmerge coverage`: which patches and modules the fused tree ran, read from the probe lines in worker logs."""

from __future__ import annotations

import argparse
from pathlib import Path

from patchmerge.coverage.compute import coverage_document, read_logs
from patchmerge.coverage.inputs import expand_log_args
from patchmerge.coverage.report import dumps, not_hit_name, summary_text, write_reports
from patchmerge.errors import EXIT_OK
from patchmerge.host import make_plugin_manager
from patchmerge.loading import load_patch_file
from patchmerge.profile import Profile, Sources, load_profile

# Coverage reads no tree: without --profile it needs only the probe prefix and the installed plugins, not the
# default tree profile (whose own plugins may not be installed where the logs are read).
NO_PROFILE = Profile(name="(none)", sources=Sources(roots=(), rewritable=()))


def run(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile) if args.profile else NO_PROFILE
    files = expand_log_args(args.log_file)  # before the patch JSON: a typo in a glob is the likelier mistake
    pm = make_plugin_manager(profile)
    patch_set = load_patch_file(Path(args.json_file), pm, profile)
    document = coverage_document(patch_set, read_logs(files, pm, profile.probes.prefix))
    out_dir = Path(args.output_dir)
    write_reports(out_dir, document, patch_set, pm)
    if args.json:
        print(dumps(document), end="")
    else:
        print(summary_text(document, out_dir, not_hit_name(patch_set)))
    return EXIT_OK  # coverage below 100% is a finding, not a failure
