"""Plan speed as a ratio to parsing, with libcst, exactly the files the plan read.

    python benchmarks/bench_plan.py [ROOT_DIR PATCH_JSON] [--profile P] [--repeat N]

Both are measured in this one run, so the ratio holds on a shared, noisy machine where seconds do not.
Writes benchmarks/results/plan.json.
"""

from __future__ import annotations

import os

import libcst
from _common import best_of, machine, tree_arguments, write_results

from patchmerge.plan import PlanContext, build_plan, create_plan_context
from patchmerge.session import load_session_patches, open_session


def main() -> None:
    args = tree_arguments()
    session = open_session(args.root_dir, args.profile)
    patch_set = load_session_patches(session, args.patch_json)

    def plan_once(cache: bool) -> PlanContext:
        os.environ["PATCHMERGE_NO_CACHE"] = "0" if cache else "1"
        context = create_plan_context(session.root, session.profile, session.pm)
        build_plan(patch_set, context)
        return context

    context = plan_once(cache=True)  # also warms the per-user cache
    files = sorted(context.tree.files_read | context.tree.files_cached)
    sources = []
    unparsable = []
    for path in files:
        try:  # a file Python itself cannot decode is not something libcst could rewrite either
            libcst.parse_module(path.read_bytes())
            sources.append(path.read_bytes())
        except (libcst.ParserSyntaxError, UnicodeDecodeError):
            unparsable.append(str(path.relative_to(session.root)))
    cold = best_of(args.repeat, lambda: plan_once(cache=False))
    warm = best_of(args.repeat, lambda: plan_once(cache=True))
    parse = best_of(args.repeat, lambda: [libcst.parse_module(s) for s in sources])
    result = {
        "tree": "bundled example" if session.is_example else session.root.name,
        "patches": len(patch_set),
        "files_read": len(files),
        "files_libcst_cannot_parse": unparsable,
        "plan_seconds_no_cache": round(cold, 3),
        "plan_seconds_cached": round(warm, 3),
        "libcst_parse_seconds": round(parse, 3),
        "ratio_plan_no_cache_to_parse": round(cold / parse, 3),
        "ratio_plan_cached_to_parse": round(warm / parse, 3),
        "machine": machine(),
    }
    write_results("plan-example.json" if session.is_example else "plan.json", result)


if __name__ == "__main__":
    main()
