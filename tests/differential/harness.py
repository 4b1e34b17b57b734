"""Differential runs: one scenario, patched at runtime by the reference patcher and fused by `merge`, for every
combination of condition values; results, exceptions and call order must agree.

A scenario is a few source files (Megatron-LM / MindSpeed / MindSpeed-LLM), its patches in the JSON shape and
a `run()` in `scenario.py` that imports what it needs, exercises it and returns something printable. Code under
test appends to `megatron.calls.LOG` to show call order. The harness writes the adaptor that registers the
patches (so `merge` can find and disable them), the args module and a profile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from patchmerge.cli import main
from patchmerge.formats import patch_set_from_mapping
from tests.reference import with_reference
from tests.reference.assignments import assignments, condition_domains
from tests.trees import ARGS_MODULE, profile_text

BASE_FILES = {
    "Megatron-LM/megatron/__init__.py": "",
    # LOG: the call order both runs compare; attempt: a call's result, or the exception it raised, as a value
    "Megatron-LM/megatron/calls.py": (
        "LOG = []\n\n\ndef attempt(function, *args):\n    try:\n        return function(*args)\n"
        "    except Exception as exc:\n        return ('raised', type(exc).__name__, str(exc))\n"
    ),
    "Megatron-LM/megatron/training/__init__.py": "from megatron.training.global_vars import get_args, set_args\n",
    **ARGS_MODULE,
    "MindSpeed/mindspeed/__init__.py": "",
    "MindSpeed-LLM/mindspeed_llm/__init__.py": "",
}

# the adaptor's own parser (MindSpeed-LLM's process_args): the runtime decides conditions from its parse
ARGUMENTS = "MindSpeed-LLM/mindspeed_llm/arguments.py"

RUNNER = """
import argparse, copy, importlib, json, sys
mode, command_line, patches_file = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
way = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
overrides = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
semantics = sys.argv[4]
unknown_args = way.pop("unknown_args", False)
adjust = way.pop("adjust", None)
sys.argv = ["pretrain.py", *command_line]  # what a training script is started with
from mindspeed_llm.arguments import process_args
# the runtime's args: the adaptor parses the command line itself (MegatronAdaptation.get_args)
args, unknown = process_args(argparse.ArgumentParser(allow_abbrev=False)).parse_known_args()
if adjust:  # what the adaptor does to its parse (MindSpeed-LLM 26.1.0's get_env_args)
    module_name, _, function_name = adjust.partition(":")
    getattr(importlib.import_module(module_name), function_name)(args)
if unknown_args:  # MindSpeed-LLM 26.1.0 also takes in the options its parser does not know
    key = value = None
    for token in unknown + ["--"]:
        if token.startswith("--"):
            if key is not None:
                setattr(args, key[2:].replace("-", "_"), True if value is None else value[0] if len(value) == 1
                        else value)
            key, value = token, None
        else:
            value = [token] if value is None else [*value, token]
# Megatron's own args, after its validation (which may change a value a condition reads)
megatron_args = copy.copy(args)
for name, value in overrides.items():
    setattr(megatron_args, name, value)
import megatron.training.global_vars as global_vars
applied = []
if mode == "runtime":  # "pristine" runs the unpatched tree
    from pathlib import Path
    from patchmerge.formats import json_format
    from tests.reference.runtime_patcher import apply_patch_specs
    specs = json_format.parse(Path(patches_file).read_text(), Path(patches_file)).patches
    try:
        applied = apply_patch_specs(specs, args, semantics)
    # the adaptation itself raises: a second replacement without force_patch, or a condition reading a name the
    # adaptor's args lack
    except (RuntimeError, AttributeError) as exc:
        from megatron.calls import LOG  # what importing the patched modules ran before that
        print(json.dumps({"result": "None", "error": [type(exc).__name__, str(exc)], "calls": LOG, "applied": [],
                          "taken": [], "at": "adaptation"}))
        sys.exit(0)
if not way.get("args_after"):
    global_vars.set_args(megatron_args)
# the fused tree, used the ways a training run may use it: the patch modules or the targets imported first,
# the adaptor (whose fused registrations are disabled) run or not, the args set before the imports or after
first, then = way.get("patch_modules", []), way.get("target_modules", [])
if not way.get("patch_first"):
    first, then = then, first
try:
    for name in way.get("entry", []) + first + then:
        importlib.import_module(name)
    if way.get("adaptor"):
        from mindspeed_llm.adaptor import adapt
        adapt(args)
    if way.get("args_after"):  # a deferred binding decides as the args are set
        global_vars.set_args(megatron_args)
except (RuntimeError, AttributeError) as exc:  # where the runtime's adaptation raises, the fused tree raises
    from megatron.calls import LOG
    print(json.dumps({"result": "None", "error": [type(exc).__name__, str(exc)], "calls": LOG, "applied": [],
                      "taken": [], "at": "adaptation"}))
    sys.exit(0)
from scenario import run
try:
    result, error = run(), None
except Exception as exc:
    result, error = None, [type(exc).__name__, str(exc)]
from megatron.calls import LOG
taken = []
if mode == "fused":
    try:
        from megatron import _patchmerge
        taken = [pid for _, pid in _patchmerge.TAKEN if not pid.endswith("#original")]
    except ImportError:  # merged with no deferred binding and no probes: no helper module
        pass
print(json.dumps({"result": repr(result), "error": error, "calls": LOG, "applied": applied, "taken": taken}))
"""

@dataclass
class Scenario:
    name: str
    files: dict[str, str]
    patches: dict[str, list[dict[str, Any]]]
    extra_domains: dict[str, list[Any]] = field(default_factory=dict)
    semantics: str = "2.1.0"  # the MindSpeed patch_utils behaviour both sides reproduce
    # ways (see `ways`) a fused run is known to get wrong, with the reason: the test is then an expected
    # failure that says so, and fails as soon as such a way agrees with the runtime for every assignment
    known_broken: dict[str, str] = field(default_factory=dict)
    # where set, a known-broken way counts as broken only when its failure shows this text (any other failure
    # there is reported as it is)
    broken_shows: str = ""
    # what Megatron's validation changes in its own args (the runtime's conditions read the adaptor's parse)
    megatron_overrides: dict[str, Any] = field(default_factory=dict)
    # a difference the merge report states as a fidelity note: (patch id, words of its note, what the runtime's
    # result shows, what the fused result shows instead); the report must carry the note
    noted: tuple[tuple[str, str, str, str], ...] = ()
    # the adaptor takes in the options its parser does not know (MindSpeed-LLM 26.1.0): `unknown_domains` are
    # such options, given on the command line but not defined by the adaptor's parser
    unknown_args: bool = False
    unknown_domains: dict[str, list[Any]] = field(default_factory=dict)
    # "module:function" the adaptor calls on its parse (runtime.adaptor_args_adjust), in the scenario's files
    adjust: str = ""
    # the adaptor's parser as written (`process_args(parser)` in ARGUMENTS) instead of one generated from the
    # domains, and the profile's runtime.adaptor_args_guarded items for it
    arguments: str = ""
    guarded: tuple[str, ...] = ()
    # modules a fused run imports before all others, in every way: the entry a training script starts from
    entry: tuple[str, ...] = ()
    probes: bool = True  # False: merged with --no-probes, as a production tree
    # the function of ARGUMENTS the merge walks for the calls the adaptor's parse runs (runtime.adaptor_args_entry)
    parse_entry: str = ""


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def _adaptor(patches: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        "class MegatronAdaptation:",
        "    @classmethod",
        "    def register(cls, orig_func_name, new_func=None, force_patch=False):",
        "        pass",
        "",
        "",
        "def adapt(args):",
    ]
    number = 0
    for target, records in patches.items():
        for record in records:
            module, _, name = record["patch_import"].rpartition(".")
            local = f"patch_{number}"
            number += 1
            lines.append(f"    from {module} import {name} as {local}")
            force = ", force_patch=True" if record.get("force_patch") else ""
            lines.append(f"    MegatronAdaptation.register({target!r}, {local}{force})")
    return "\n".join(lines) + "\n"


def build(base: Path, scenario: Scenario) -> tuple[Path, Path]:
    """A pristine ROOT_DIR and a merged copy of it."""
    pristine = base / "pristine"
    _write(pristine, BASE_FILES)
    _write(pristine, scenario.files)
    _write(pristine, {"MindSpeed-LLM/mindspeed_llm/adaptor.py": _adaptor(scenario.patches)})
    known = {name: values for name, values in domains(scenario).items() if name not in scenario.unknown_domains}
    _write(pristine, {ARGUMENTS: scenario.arguments or _arguments(known)})
    (pristine / "patches.json").write_text(json.dumps(scenario.patches, indent=2))
    profile = profile_text(
        "differential",
        ["MindSpeed-LLM/mindspeed_llm/adaptor.py"],
        semantics=None if scenario.semantics == "2.1.0" else scenario.semantics,
        adaptor_args_files=[ARGUMENTS],
        adaptor_unknown_args=scenario.unknown_args,
        adaptor_args_adjust=[_adjust_entry(scenario.adjust)] if scenario.adjust else [],
        adaptor_args_guarded=scenario.guarded,
        adaptor_args_entry=f"{ARGUMENTS}::{scenario.parse_entry}" if scenario.parse_entry else "",
    )
    (base / "profile.toml").write_text(profile)
    fused = base / "fused"
    subprocess.run(["cp", "-r", str(pristine), str(fused)], check=True)
    no_probes = [] if scenario.probes else ["--no-probes"]
    code = main(["merge", str(fused), "--profile", str(base / "profile.toml"), *no_probes])
    report = json.loads((fused / ".patchmerge" / "report" / "report.json").read_text())
    unfused = [(p["id"], p["reason"]) for p in report["patches"] if p["outcome"] != "fused"]
    assert code == 0 and not unfused, f"{scenario.name}: not fused: {unfused}"
    notes = {p["id"]: " ".join(p["notes"]) for p in report["patches"]}
    for patch_id, words, _, _ in scenario.noted:
        assert words in notes.get(patch_id, ""), f"{scenario.name}: {patch_id} has no note saying {words!r}"
    return pristine, fused


def _adjust_entry(adjust: str) -> str:
    """`module:function` as the profile names it, `REL/FILE.py::function` (scenario modules live in MindSpeed-LLM)."""
    module, _, function = adjust.partition(":")
    return f"MindSpeed-LLM/{module.replace('.', '/')}.py::{function}"


def _as_noted(runtime: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """The runtime's outcome with each difference the report notes made as the fused tree shows it."""
    result = runtime.get("result")
    for _, _, at_runtime, fused in scenario.noted:
        result = result.replace(at_runtime, fused) if isinstance(result, str) else result
    return {**runtime, "result": result}


def domains(scenario: Scenario) -> dict[str, list[Any]]:
    specs = patch_set_from_mapping(scenario.patches.items(), source=None, format="json").patches
    return {**condition_domains(specs), **scenario.extra_domains, **scenario.unknown_domains}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _arguments(domains: dict[str, list[Any]]) -> str:
    """The adaptor's parser for the options the conditions read: a switch for a truth value, else a typed
    option whose absence leaves None."""
    lines = ["def process_args(parser):", "    parser.conflict_handler = 'resolve'"]
    for name, values in sorted(domains.items()):
        if all(isinstance(v, bool) for v in values):
            lines.append(f"    parser.add_argument({_flag(name)!r}, action='store_true')")
        else:
            kind = _value_type(values)
            lines.append(f"    parser.add_argument({_flag(name)!r}, type={kind.__name__}, default=None)")
    lines.append("    return parser")
    return "\n".join(lines) + "\n"


def _value_type(values: list[Any]) -> type:
    kinds = {type(v) for v in values if v is not None and not isinstance(v, bool)}
    return kinds.pop() if len(kinds) == 1 else str


def command_line(assignment: dict[str, Any], domains: dict[str, list[Any]]) -> list[str]:
    """The command line that makes the adaptor's parser give `assignment` (a truth value where the option takes
    a value: true is a value no condition names)."""
    argv: list[str] = []
    for name, value in sorted(assignment.items()):
        values = domains[name]
        if value is None or value is False:
            continue
        if all(isinstance(v, bool) for v in values):
            argv.append(_flag(name))
            continue
        kind = _value_type(values)
        if value is True:
            taken = {v for v in values if not isinstance(v, bool)}
            value = next(c for c in (kind("7"), kind("70"), kind("700")) if c not in taken)
        argv += [_flag(name), str(value)]
    return argv


def ways(patches: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The ways each fused run is repeated: plain, adaptor on, patch modules imported first, args set late."""
    patch_modules = sorted({r["patch_import"].rpartition(".")[0] for records in patches.values() for r in records})
    target_modules = sorted({_module_part(target.strip("'\"")) for target in patches})
    base = {"patch_modules": patch_modules, "target_modules": target_modules}
    return [base, {**base, "adaptor": True}, {**base, "patch_first": True}, {**base, "args_after": True}]


def _module_part(dotted: str) -> str:
    """The module of a dotted target: the part before the first capitalised name (a class) or the last name."""
    parts = dotted.split(".")
    for index, part in enumerate(parts[:-1]):
        if part[:1].isupper():
            return ".".join(parts[:index])
    return ".".join(parts[:-1])


def _run(
    root: Path,
    mode: str,
    command: list[str],
    patches_file: Path,
    semantics: str = "2.1.0",
    way: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    roots = [root / r for r in ("Megatron-LM", "MindSpeed", "MindSpeed-LLM")]
    env["PYTHONPATH"] = with_reference(os.pathsep.join(str(r) for r in roots))
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, mode, json.dumps(command), str(patches_file), semantics,
         json.dumps(way or {}), json.dumps(overrides or {})],
        cwd=root / "MindSpeed-LLM",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"{mode} run crashed for {command} ({way}):\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _described(way: dict[str, Any]) -> str:
    flags = [name for name in ("adaptor", "patch_first", "args_after") if way.get(name)]
    return ", ".join(flags) or "plain"


def compare(base: Path, scenario: Scenario) -> list[dict[str, Any]]:
    """Run every combination on both trees; return the runtime outcomes (for the test to check they vary)."""
    pristine, fused = build(base, scenario)
    space = domains(scenario)
    outcomes = []
    broken: set[str] = set()
    changed = False
    overrides = scenario.megatron_overrides
    # how the adaptor parses, in every run
    parse = {**({"unknown_args": True} if scenario.unknown_args else {}), **({"adjust": scenario.adjust} if
             scenario.adjust else {})}
    for assignment in assignments(space) if space else [{}]:
        argv = command_line(assignment, space)
        runtime = _run(pristine, "runtime", argv, pristine / "patches.json", scenario.semantics, parse, overrides)
        applied = set(runtime.pop("applied"))
        runtime.pop("taken")
        for way in ways(scenario.patches):
            label = _described(way)
            way = {**way, "entry": list(scenario.entry)} if scenario.entry else way
            try:
                fused_run = _run(
                    fused, "fused", argv, pristine / "patches.json", scenario.semantics, {**way, **parse}, overrides
                )
                # the branches the fused tree announces are patches the runtime applied too
                assert set(fused_run.pop("taken")) <= applied, f"{scenario.name}: {assignment} {way}"
                fused_run.pop("applied")
                assert fused_run == _as_noted(runtime, scenario), (
                    f"{scenario.name} differs for {assignment} ({label}):\nruntime {runtime}\nfused   {fused_run}"
                )
            except AssertionError as failure:
                if label not in scenario.known_broken or scenario.broken_shows not in str(failure):
                    raise
                broken.add(label)
        unpatched = _run(pristine, "pristine", argv, pristine / "patches.json", "2.1.0", parse, overrides)
        unpatched.pop("applied"), unpatched.pop("taken")
        changed = changed or runtime != unpatched
        outcomes.append(runtime)
    assert changed, f"{scenario.name}: the patches change nothing, so the comparison proves nothing"
    fixed = set(scenario.known_broken) - broken
    assert not fixed, f"{scenario.name}: now agrees with the runtime when run {fixed}: drop it from known_broken"
    if broken:
        pytest.xfail("; ".join(f"{label}: {scenario.known_broken[label]}" for label in sorted(broken)))
    return outcomes


def strategies(fused: Path) -> dict[str, tuple[str, str]]:
    """Each patch id of a merged tree's report: the strategy that fused it and why ("" for none)."""
    report = json.loads((fused / ".patchmerge" / "report" / "report.json").read_text())
    return {p["id"]: (p["strategy"], p["strategy_reason"] or "") for p in report["patches"]}
