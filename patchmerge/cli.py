"""The command line: parses arguments and hands each command to its module. No work is done here."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from patchmerge import __version__
from patchmerge.errors import EXIT_BAD_INPUT, PatchmergeError

EXIT_BROKEN_PIPE = 141  # what a shell reports for a program that SIGPIPE stopped (128 + 13)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="patchmerge", description="Fuse MindSpeed runtime monkey-patches into the Megatron source."
    )
    parser.add_argument("--version", action="version", version=f"patchmerge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log diagnostics to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    plan = commands.add_parser("plan", help="explain where every patch lands and how it will be fused")
    _add_tree_arguments(plan)
    plan.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    plan.set_defaults(run="patchmerge.commands.plan")

    merge = commands.add_parser("merge", help="fuse the patches into the source, all or nothing")
    _add_tree_arguments(merge)
    merge.add_argument("--dry-run", action="store_true", help="print the unified diff and write nothing")
    merge.add_argument("--report-dir", metavar="D", help="default: ROOT_DIR/.patchmerge/report")
    merge.add_argument("--no-probes", action="store_true", help="a production tree: no coverage probe at all")
    merge.add_argument(
        "--collect", action="store_true", help="derive the patch JSON from the tree's registrations first, then fuse it"
    )
    merge.set_defaults(run="patchmerge.commands.merge")

    undo = commands.add_parser("undo", help="restore the files of the last merge byte for byte")
    undo.add_argument("root_dir", metavar="ROOT_DIR")
    undo.add_argument("--force", action="store_true", help="restore even files edited by hand since the merge")
    undo.set_defaults(run="patchmerge.commands.undo")

    coverage = commands.add_parser("coverage", help="which patches and modules ran, from the probes in worker logs")
    coverage.add_argument("--json-file", required=True, metavar="J", help="the patch JSON the tree was merged from")
    coverage.add_argument(
        "--log-file", required=True, nargs="+", metavar="L", help="log files, folders (*.log inside) or globs"
    )
    coverage.add_argument("--profile", metavar="P", help="for probes.prefix and plugins (default: built-in values)")
    coverage.add_argument("--output-dir", metavar="D", default="coverage-report", help="default: coverage-report/")
    coverage.add_argument("--json", action="store_true", help="print coverage.json to stdout")
    coverage.set_defaults(run="patchmerge.commands.coverage")

    check = _add_running_command(
        commands, "check", "fuse into a workspace, run the model shell, match the expected line"
    )
    check.add_argument(
        "--workspace", metavar="D", help="default: ROOT_DIR/.patchmerge/check/run-N (a cache folder if read-only)"
    )
    check.add_argument("--json", action="store_true", help="print the verdict as one JSON document")
    check.set_defaults(run="patchmerge.commands.check")

    bisect = _add_running_command(commands, "bisect", "find the patches whose fusion makes check fail, in few runs")
    bisect.add_argument(
        "--state-dir", metavar="D", help="steps, logs and result.json (default: the profile's bisect.state_dir)"
    )
    bisect.add_argument("--resume", action="store_true", help="continue the bisect recorded in --state-dir")
    bisect.add_argument("--jobs", type=int, metavar="N", help="run up to N candidate checks at once")
    bisect.add_argument(
        "--mark", choices=("good", "bad", "skip"), help="give the waiting (or last) step a verdict by hand, go on"
    )
    bisect.set_defaults(run="patchmerge.commands.bisect")

    collect = commands.add_parser("collect", help="derive the patch JSON from the registrations the adaptor runs")
    collect.add_argument("root_dir", metavar="ROOT_DIR")
    collect.add_argument("--profile", metavar="P", help="a profile file, or the name of a bundled one")
    collect.add_argument("-o", "--output", metavar="OUT",
                         help="default: ROOT_DIR/.patchmerge/collected.json ('-' prints it); the provenance "
                              "sidecar goes beside it as *.provenance.json")
    collect.set_defaults(run="patchmerge.commands.collect")

    cut = commands.add_parser("cut", help="count or slice a patch file by index range, target prefix or kind")
    cut.add_argument("patch_json", metavar="PATCH_JSON")
    cut.add_argument("--profile", metavar="P", help="for runtime.wrapper_suffixes and plugins (default: example)")
    cut.add_argument("--count", action="store_true", help="print the number of targets and patches, by kind")
    cut.add_argument("--left", type=int, metavar="L", help="first patch kept, 0-based over patches in file order")
    cut.add_argument("--right", type=int, metavar="R", help="end of the range, exclusive (half-open)")
    cut.add_argument("--target-prefix", metavar="P", help="keep the patches whose target starts with P")
    cut.add_argument("--kind", choices=("wrap", "replace", "route"), help="keep the patches of this kind")
    cut.add_argument("-o", "--output", metavar="OUT", help="write the cut file here (default: stdout)")
    cut.set_defaults(run="patchmerge.commands.cut")
    return parser


def _add_tree_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root_dir", nargs="?", metavar="ROOT_DIR", help="default: the bundled example")
    parser.add_argument("patch_json", nargs="?", metavar="PATCH_JSON", help="default: the profile's patch_json")
    parser.add_argument("--profile", metavar="P", help="a profile file, or the name of a bundled one")


def _add_running_command(commands: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    """A command that fuses a tree and runs the model shell on it (check, bisect): the tree's arguments and the
    run's."""
    from patchmerge.commands.check import add_check_arguments

    parser = commands.add_parser(name, help=help)
    _add_tree_arguments(parser)
    add_check_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    try:
        module = importlib.import_module(args.run)
        code = module.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return code
    except PatchmergeError as exc:
        print(f"patchmerge: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("patchmerge: interrupted", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # the reader went away (`patchmerge plan ... | head -1`): stop quietly, as other tools do
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug of ours or of a plugin: one line, the traceback only when asked for
        hint = "" if args.verbose else " (run with -v for the traceback)"
        print(f"patchmerge: internal error: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        return EXIT_BAD_INPUT


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout replaced by something without a file descriptor
        pass
