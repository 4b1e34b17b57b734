"""`patchmerge plan`: resolve and classify every patch, print the plan."""

from __future__ import annotations

import argparse
import json
import time

from patchmerge.errors import EXIT_OK, EXIT_PARTIAL
from patchmerge.fusion.journal import refuse_interrupted
from patchmerge.plan import build_plan, create_plan_context
from patchmerge.plan.render import plan_to_json, plan_to_text
from patchmerge.session import load_session_patches, open_session


def run(args: argparse.Namespace) -> int:
    session = open_session(args.root_dir, args.profile)
    refuse_interrupted(session.root)
    patch_set = load_session_patches(session, args.patch_json)
    started = time.perf_counter()
    context = create_plan_context(session.root, session.profile, session.pm)
    plan = build_plan(patch_set, context)
    seconds = time.perf_counter() - started
    if args.json:
        document = plan_to_json(plan, patch_set)
        document["seconds"] = round(seconds, 3)
        document["files_read"] = len(context.tree.files_read | context.tree.files_cached)
        print(json.dumps(document, indent=2))
    else:
        print(plan_to_text(plan, patch_set, seconds=seconds))
    return EXIT_OK if all(pp.resolved for pp in plan.patches) else EXIT_PARTIAL
