"""Per-call cost of fused code against the same patches applied at runtime, as a ratio measured in one run.

    python benchmarks/bench_calls.py [--rounds N] [--repeat N]

Builds a tiny ROOT_DIR in a temp folder (a mini Megatron-LM, MindSpeed and MindSpeed-LLM adaptor registering the
patches with `MegatronAdaptation.register`, a patch JSON and a profile: `_calls_tree.py`), then:

- runtime: the original tree, patched in the measuring process by `patchmerge.verify.runtime_patcher`'s
  `RuntimeCollection` (MindSpeed's `Patch` semantics: chain built once at patch time, aliases rebound);
- fused:   a copy merged by the real `patchmerge merge`, imported with no patch registered;
- unpatched (for reference only): the original tree with nothing applied.

Every (variant, case) runs in a fresh interpreter; the variants alternate for `--rounds` rounds and the best
ns/call of each is kept, so the ratio fused/runtime holds on a shared, noisy machine where ns do not.
Before timing each subprocess checks what it calls: the value (must equal the runtime one), that the fused
alias held the stand-in before its first call and was rebound to the settled object by it, and that a method
is a plain function on the class after its first call. Writes benchmarks/results/calls.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from _calls_tree import PATCHES, PROFILE, ROOTS, TREE_ADAPTOR, write_tree
from _common import code_version, machine, write_results

GOAL = 1.1  # fused / runtime
PROBE_GOAL = 1.05  # probed fused / the same fused with --no-probes

# the args every variant runs with: every patch of f and C.m holds, route b of g and D.m wins
ARGS = {"fast": True, "extra": True, "mode": "b"}

# ---- what a measuring subprocess runs -----------------------------------------------------------------------

# (case, statement, namespace, what to check) -- the namespace is built in the subprocess
CASES = [
    ("f: module attribute", "ops.f(1)", "attr", "f"),
    ("f: from-import alias taken before the first call", "f(1)", "alias", "f"),
    ("C.m: method on an instance", "c.m(1)", "method", "C"),
    ("g: routes + wrappers, module attribute", "ops.g(1)", "attr", "g"),
    ("g: routes + wrappers, from-import alias", "g(1)", "alias", "g"),
    ("D.m: routes + wrappers, method on an instance", "d.m(1)", "method", "D"),
]

MEASURE = textwrap.dedent(
    """
    import argparse, json, sys, timeit

    variant, stmt, kind, name, patch_json, repeat = sys.argv[1:7]
    import megatron.core.ops as ops
    import megatron.core.user as user  # takes `from megatron.core.ops import f, g` now, before any call
    from megatron.training import set_args

    args = argparse.Namespace(**json.loads(sys.argv[7]))
    before = getattr(user, name, None) if kind == "alias" else None
    if variant == "runtime":
        from pathlib import Path
        from patchmerge.formats import json_format
        from patchmerge.verify.runtime_patcher import RuntimeCollection, condition_holds, resolve_object

        set_args(args)
        specs = json_format.parse(Path(patch_json).read_text(), Path(patch_json)).patches
        collection = RuntimeCollection(semantics="2.1.0")
        for spec in specs:  # what the adaptor registers under its `if args...` blocks, then apply()
            if condition_holds(spec, args):
                collection.register(spec.target, resolve_object(spec.patch_import), force_patch=spec.force_patch)
        collection.apply()
    elif variant == "fused":
        set_args(args)  # what pretrain does before the first step
    # variant "fused-early": the args are never set, so every call goes through the stand-in to the original
    checks = {}
    if kind == "attr":
        namespace = {"ops": ops}
    elif kind == "alias":
        namespace = user.__dict__  # the alias is a global of the module that imported it
        checks["stand_in_before_first_call"] = hasattr(before, "__patchmerge_patches__")
    else:
        namespace = {name.lower(): getattr(ops, name)()}
    value = eval(stmt, namespace)  # the first call: settles a fused stand-in
    if kind == "alias":
        checks["alias_is_module_attribute"] = namespace[name] is getattr(ops, name)
        checks["alias_rebound_by_first_call"] = namespace[name] is not before or variant != "fused"
        checks["stand_in_after_first_call"] = hasattr(namespace[name], "__patchmerge_patches__")
    elif kind == "attr":
        checks["stand_in_after_first_call"] = hasattr(getattr(ops, name), "__patchmerge_patches__")
    else:
        member = vars(getattr(ops, name))["m"]
        checks["plain_function_on_class"] = type(member).__name__ == "function"
    timer = timeit.Timer(stmt, globals=namespace)
    number, _ = timer.autorange()
    best = min(timer.repeat(repeat=int(repeat), number=number)) / number
    print(json.dumps({"ns": best * 1e9, "value": value, "checks": checks, "number": number}))
    """
)


def build(scratch: Path, *merge_flags: str, name: str = "fused") -> tuple[Path, Path, Path, str]:
    """The original tree, a merged copy, the patch JSON; and the merge's summary."""
    original = write_tree(scratch / "original")
    fused = scratch / name
    shutil.copytree(original, fused)
    patch_json = scratch / "patches.json"
    patch_json.write_text(json.dumps({f"'{t}'": p for t, p in PATCHES.items()}, indent=2))
    profile = scratch / "bench-calls.toml"
    profile.write_text(PROFILE)
    merged = subprocess.run(
        [
            sys.executable,
            "-m",
            "patchmerge",
            "merge",
            str(fused),
            str(patch_json),
            "--profile",
            str(profile),
            *merge_flags,
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PATCHMERGE_NO_CACHE="1"),
    )
    if merged.returncode != 0:
        raise SystemExit(f"patchmerge merge failed ({merged.returncode}):\n{merged.stdout}{merged.stderr}")
    report = json.loads((fused / ".patchmerge" / "report" / "report.json").read_text())
    total = sum(len(p) for p in PATCHES.values())
    if report["patches_fused"] != total:
        raise SystemExit(f"patchmerge merge fused {report['patches_fused']} of {total} patches:\n{merged.stdout}")
    adaptor = (fused / TREE_ADAPTOR).read_text()
    active = [line for line in adaptor.splitlines() if "MegatronAdaptation.register(" in line and "#" not in line]
    if active:
        raise SystemExit("registrations left active in the fused adaptor:\n" + "\n".join(active))
    return original, fused, patch_json, merged.stdout


def measure(variant: str, tree: Path, case: tuple[str, str, str, str], patch_json: Path, repeat: int) -> dict:
    _, stmt, kind, name = case
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join(str(tree / r) for r in ROOTS)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, variant, stmt, kind, name, str(patch_json), str(repeat), json.dumps(ARGS)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    )
    if done.returncode != 0:
        raise SystemExit(f"{variant} / {case[0]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="fresh-interpreter runs of each (variant, case)")
    parser.add_argument("--repeat", type=int, default=7, help="timeit repeats within one run")
    options = parser.parse_args()
    cases = []
    problems = []
    with tempfile.TemporaryDirectory(prefix="patchmerge-bench-calls-") as scratch_name:
        original, fused, patch_json, summary = build(Path(scratch_name))
        _, bare, _, _ = build(Path(scratch_name) / "bare", "--no-probes", name="fused-no-probes")
        for case in CASES:
            best: dict[str, dict] = {}
            for _ in range(options.rounds):
                trees = (("runtime", original), ("fused", fused), ("bare", bare), ("unpatched", original))
                for label, tree in trees:
                    run = measure("fused" if label == "bare" else label, tree, case, patch_json, options.repeat)
                    if label not in best or run["ns"] < best[label]["ns"]:
                        best[label] = run
            runtime, fusedrun, plain = best["runtime"], best["fused"], best["unpatched"]
            if fusedrun["value"] != runtime["value"]:
                problems.append(f"{case[0]}: fused gives {fusedrun['value']}, runtime {runtime['value']}")
            expected = {
                "stand_in_before_first_call": True,
                "alias_is_module_attribute": True,
                "alias_rebound_by_first_call": True,
                "stand_in_after_first_call": False,
                "plain_function_on_class": True,
            }
            for check, value in fusedrun["checks"].items():
                if value != expected[check]:
                    problems.append(f"{case[0]}: fused {check} is {value}, expected {expected[check]}")
            for check in ("alias_is_module_attribute", "plain_function_on_class"):
                if runtime["checks"].get(check, True) is not True:
                    problems.append(f"{case[0]}: runtime {check} is {runtime['checks'][check]}")
            ratio = fusedrun["ns"] / runtime["ns"]
            cases.append(
                {
                    "case": case[0],
                    "statement": case[1],
                    "value": fusedrun["value"],
                    "runtime_ns_per_call": round(runtime["ns"], 1),
                    "fused_ns_per_call": round(fusedrun["ns"], 1),
                    "ratio_fused_to_runtime": round(ratio, 3),
                    "within_goal": ratio <= GOAL,
                    "unpatched_ns_per_call": round(plain["ns"], 1),
                    "no_probes_ns_per_call": round(best["bare"]["ns"], 1),
                    "ratio_probed_to_no_probes": round(fusedrun["ns"] / best["bare"]["ns"], 3),
                    "fused_checks": fusedrun["checks"],
                }
            )
        # informational: a fused stand-in called before the args are set (it cannot settle yet, so each call
        # tries and runs the original) against the unpatched original, which is what runs at that point at runtime
        early_case = CASES[0]
        early = min(
            (measure("fused-early", fused, early_case, patch_json, options.repeat) for _ in range(options.rounds)),
            key=lambda run: run["ns"],
        )
        plain_early = min(
            (measure("unpatched", original, early_case, patch_json, options.repeat) for _ in range(options.rounds)),
            key=lambda run: run["ns"],
        )
        if early["value"] != plain_early["value"]:
            problems.append(f"before the args are set: fused gives {early['value']}, original {plain_early['value']}")
        if early["checks"].get("stand_in_after_first_call") is not True:
            problems.append("before the args are set: the stand-in settled without args")
        before_args = {
            "case": f"{early_case[0]}, called before the args are set",
            "statement": early_case[1],
            "fused_ns_per_call": round(early["ns"], 1),
            "unpatched_ns_per_call": round(plain_early["ns"], 1),
            "ratio_fused_to_unpatched": round(early["ns"] / plain_early["ns"], 3),
            "fused_checks": early["checks"],
        }
    ratios = [c["ratio_fused_to_runtime"] for c in cases]
    result = {
        "what": "ns per call after the first call; fused = `patchmerge merge` output, runtime = RuntimeCollection",
        "goal_ratio_fused_to_runtime": GOAL,
        "max_ratio_fused_to_runtime": max(ratios),
        "goal_ratio_probed_to_no_probes": PROBE_GOAL,
        "max_ratio_probed_to_no_probes": max(c["ratio_probed_to_no_probes"] for c in cases),
        "all_within_goal": all(c["within_goal"] for c in cases) and not problems,
        "problems": problems,
        "args": ARGS,
        "patches": {t: [p["patch_name"] for p in ps] for t, ps in PATCHES.items()},
        "merge_summary": [line for line in summary.splitlines() if line.strip() and "/" not in line],
        "cases": cases,
        "before_args_set": before_args,
        "rounds": options.rounds,
        "timeit_repeat": options.repeat,
        "code": code_version(),
        "machine": machine(),
    }
    write_results("calls.json", result)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
