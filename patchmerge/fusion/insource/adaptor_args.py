"""The args the adaptor parses itself, read from its parser's source (SPEC section 3.11).

The runtime decides every condition at adaptation time from its own `parse_known_args` of the command line
(MindSpeed-LLM: `MegatronAdaptation.get_args()`), before Megatron parses and validates. An in-source condition
is decided when its module is imported, and importing the adaptor's parser there would import half of the
tree from inside a half-imported Megatron module. So the merge reads the `add_argument` calls of the files the
profile names (`runtime.adaptor_args_files`) and writes, into the runtime helper, a stdlib parser of just the
options the fused conditions read: same option strings, action, type, default, choices and nargs, parsed once
per process from `sys.argv` as the adaptor parses it. An option defined in two places in ways that give
different values, or written in a way that cannot be read, is not guessed: its bindings fall back.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from patchmerge.fusion.insource.option_types import Scopes, carried_type

if TYPE_CHECKING:
    from patchmerge.collection.entered import Entered

# the add_argument keywords that shape the parsed value; the others (help, metavar, required...) do not
_SHAPING = ("action", "type", "default", "choices", "nargs", "const")
_ACTIONS = frozenset({"store", "store_true", "store_false", "store_const", "append", "append_const", "count",
                      "extend"})
_TYPES = frozenset({"int", "float", "str", "bool"})
_IMPLIED_DEFAULTS = {repr("store_true"): "False", repr("store_false"): "True"}


@dataclass(frozen=True)
class Guard:
    """Options the adaptor adds only when a condition over its parse so far holds (`runtime.adaptor_args_guarded`;
    MindSpeed-LLM 26.1.0 adds its MindSpore options only for `--ai-framework mindspore`). Where it does not hold
    they are not options at all: `args` lacks them, or takes them in as unknown options."""

    entry: str  # "REL/FILE.py::function", the function that adds them
    condition: str  # over `args`: the adaptor's parse before it adds them
    needs: tuple[Option, ...] = ()  # the options the condition reads, all added unconditionally


@dataclass(frozen=True)
class Option:
    """One readable `add_argument` call: its option strings and the keywords that shape its value."""

    flags: tuple[str, ...]
    dest: str
    shape: tuple[tuple[str, str], ...]  # (keyword, value as source: a literal's repr, a type's builtin name)
    where: str  # file:line
    guard: Guard | None = None  # added only when the guard's condition holds

    def call(self) -> str:
        keywords = [f"dest={self.dest!r}"] + [f"{key}={value}" for key, value in self.shape]
        return f"parser.add_argument({', '.join(repr(f) for f in self.flags)}, {', '.join(keywords)})"


@dataclass
class AdaptorArgs:
    """The options found in the adaptor's parser files, by dest."""

    options: dict[str, list[Option]] = field(default_factory=dict)
    unreadable: dict[str, list[str]] = field(default_factory=dict)  # dest -> where a call could not be read
    files: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # dests the adaptor changes after its parse (runtime.adaptor_args_changed)
    # conditions that call a function, written out over the parse (patch id -> its conditions), the helper's
    # parses of the command line they read (name -> def), and why the others cannot be (patch id -> reason)
    calls_read: dict[str, tuple[str, ...]] = field(default_factory=dict)
    argv_parses: dict[str, str] = field(default_factory=dict)
    calls_unread: dict[str, str] = field(default_factory=dict)
    unknown_args: bool = False  # runtime.adaptor_unknown_args: options it does not know become args too
    adjusters: list[str] = field(default_factory=list)  # runtime.adaptor_args_adjust, as helper code
    adjuster_reads: set[str] = field(default_factory=set)  # the options those read without a default
    consuming: list[Option] = field(default_factory=list)  # every call, by what it takes from the command line
    unconsumable: list[str] = field(default_factory=list)  # where what a call takes cannot be read
    # runtime.adaptor_args_entry: dest -> where code the adaptor's parse does not run adds it, and why the walk of
    # that parse could not be relied on (then nothing is left out)
    not_run: dict[str, list[str]] = field(default_factory=dict)
    doubts: list[str] = field(default_factory=list)

    def where(self) -> str:
        """The parser's files, named when they are few."""
        if len(self.files) <= 3:
            return ", ".join(self.files) or "no files"
        return f"{len(self.files)} files of runtime.adaptor_args_files"

    def unknown(self, dest: str) -> str | None:
        """None when `args.<dest>`, not an option, comes from what the parser leaves unknown (read with a
        default, so its absence is no error); else why it cannot be decided."""
        if not self.unknown_args:
            return f"args.{dest} is not an option of the adaptor's parser ({self.where()})"
        if dest in self.not_run:  # so it comes from the unknown options only if the walk of the parse is right
            return self._not_run_reason(dest)
        if self.unconsumable:
            return (f"args.{dest} would come from what the adaptor's parser leaves unknown, which is not known: "
                    f"what its add_argument at {self.unconsumable[0]} takes cannot be read statically")
        return None

    def _not_run_reason(self, dest: str) -> str:
        return (f"args.{dest} is added only where the adaptor's parse does not go ({', '.join(self.not_run[dest])}; "
                "runtime.adaptor_args_entry): a read of it is left to the deferred strategy")

    def option(self, dest: str) -> Option | str:
        """The one option that gives `args.<dest>`, or why there is none to rely on."""
        if dest in self.changed:
            return f"args.{dest} is changed by the adaptor after its parse (runtime.adaptor_args_changed)"
        if dest in self.unreadable:
            return f"args.{dest}: its add_argument at {', '.join(self.unreadable[dest])} cannot be read statically"
        found = self.options.get(dest)
        if not found and dest in self.not_run:
            return self._not_run_reason(dest)
        if not found:
            return f"args.{dest} is not an option of the adaptor's parser ({self.where()})"
        if len({option.shape for option in found}) > 1:
            places = ", ".join(option.where for option in found)
            return f"args.{dest} is defined differently in several places ({places}); which one parses is not known"
        if len({option.guard for option in found}) > 1:
            places = ", ".join(option.where for option in found)
            return f"args.{dest} is added under different conditions ({places}); which one parses is not known"
        flags = tuple(dict.fromkeys(flag for option in found for flag in option.flags))
        return Option(flags, dest, found[0].shape, found[0].where, found[0].guard)


def read_adaptor_args(
    files: list[tuple[str, str]], entered: Callable[[list[ast.Module]], Entered] | None = None
) -> AdaptorArgs:
    """Every `add_argument` call of the given (name, source) files. With `entered` (it walks the adaptor's parse,
    given these files' trees, and gives the defs the parse enters), only the calls in those defs: a feature that
    is not in the adaptor's list adds nothing to its parser."""
    found = AdaptorArgs(files=tuple(name for name, _ in files))
    trees = []
    for name, text in files:
        try:
            trees.append((name, text, ast.parse(text)))
        except SyntaxError:
            continue  # the merge reports unparsable files where it reads them; nothing can be read here
    ran: set[tuple[str, int]] | None = None
    if entered is not None:
        walk = entered([tree for _, _, tree in trees])
        found.doubts = walk.doubts
        ran = None if walk.doubts else walk.defs
    for name, text, tree in trees:
        read_calls(found, tree, name, text=text, ran=ran)
    return found


def read_calls(
    found: AdaptorArgs,
    tree: ast.AST,
    name: str,
    guard: Guard | None = None,
    text: str = "",
    outer: Scopes = (),
    ran: set[tuple[str, int]] | None = None,
) -> None:
    """The `add_argument` calls under `tree` (of file `name`, whose source is `text`, inside the scopes `outer`),
    added under `guard` where one is given; with `ran`, only those whose def ((name, line of the def)) is in it,
    the others kept apart as not run. A `type=` function of the file is carried into the helper where it can be
    (option_types)."""

    def visit(node: ast.AST, scopes: Scopes) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, [*scopes, child])
                continue
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                where = f"{name}:{child.lineno}"
                innermost = scopes[-1]
                if ran is not None and child.func.attr in ("add_argument", "set_defaults") and not (
                    isinstance(innermost, ast.FunctionDef | ast.AsyncFunctionDef) and (name, innermost.lineno) in ran
                ):
                    _not_run(found, child, where)
                elif child.func.attr == "add_argument":
                    add_option(found, child, where, guard, lambda local, s=scopes, at=child.lineno: carried_type(
                        local, s, text, name, found.argv_parses, at))
                elif child.func.attr == "set_defaults":
                    for keyword in child.keywords:  # a default set apart from the option: not followed
                        if keyword.arg:
                            found.unreadable.setdefault(keyword.arg, []).append(where)
            visit(child, scopes)

    visit(tree, [*outer, tree])


def _not_run(found: AdaptorArgs, call: ast.Call, where: str) -> None:
    """A call in code the adaptor's parse does not run, kept by the dests it would give (unreadable ones too)."""
    if call.func.attr == "set_defaults":  # type: ignore[attr-defined]
        dests = [keyword.arg for keyword in call.keywords if keyword.arg]
    else:
        flags = tuple(a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        dest = _dest(flags, keywords.get("dest")) if flags else None
        dests = [dest] if dest else []
    for dest in dests:
        found.not_run.setdefault(dest, []).append(where)


def add_option(
    found: AdaptorArgs,
    call: ast.Call,
    where: str,
    guard: Guard | None = None,
    carry_type: Callable[[str], str | None] | None = None,
) -> None:
    """The option an `add_argument` call adds, by dest, if its flags and shaping keywords can be read."""
    _add_consuming(found, call, where, guard)
    if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args):
        return  # flags computed at run time: nothing says which dest they give
    flags = tuple(a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    if not flags or not all(flag.startswith("-") for flag in flags):
        return  # a positional argument: no condition reads it as an option
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    dest = _dest(flags, keywords.get("dest"))
    if dest is None or any(k.arg is None for k in call.keywords):
        return
    shape: list[tuple[str, str]] = []
    for key in _SHAPING:
        if key not in keywords:
            continue
        value = _readable(key, keywords[key])
        if value is _UNREADABLE and key == "type" and carry_type and isinstance(keywords[key], ast.Name):
            value = carry_type(keywords[key].id) or _UNREADABLE
        if value is _UNREADABLE:
            found.unreadable.setdefault(dest, []).append(where)
            return
        shape.append((key, value if key == "type" else repr(value)))
    action = dict(shape).get("action", repr("store"))
    if "default" not in dict(shape) and action in _IMPLIED_DEFAULTS:
        shape.append(("default", _IMPLIED_DEFAULTS[action]))  # so `store_true` and `..., default=False` agree
    found.options.setdefault(dest, []).append(Option(flags, dest, tuple(sorted(shape, key=str)), where, guard))


_UNREADABLE = object()
_CONSUMING = ("action", "nargs", "const")  # what decides the tokens an option takes from the command line


def _add_consuming(found: AdaptorArgs, call: ast.Call, where: str, guard: Guard | None) -> None:
    """The call as what it takes from the command line: its flags, action and nargs (its type, default and
    choices only shape its own value), so a parse with it leaves the same tokens unknown."""
    flags = tuple(a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    dest = _dest(flags, keywords.get("dest")) if flags else None
    readable = [(key, _readable(key, keywords[key])) for key in _CONSUMING if key in keywords]
    if (
        len(flags) != len(call.args) or not flags or not all(flag.startswith("-") for flag in flags)
        or dest is None or any(k.arg is None for k in call.keywords)
        or any(value is _UNREADABLE for _, value in readable)
    ):
        found.unconsumable.append(where)
        return
    shape = tuple(sorted(((key, repr(value)) for key, value in readable), key=str))
    found.consuming.append(Option(flags, dest, shape, where, guard))


def _readable(key: str, node: ast.expr) -> object:
    if key == "type":
        return node.id if isinstance(node, ast.Name) and node.id in _TYPES else _UNREADABLE
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNREADABLE
    if key == "action" and value not in _ACTIONS:
        return _UNREADABLE
    return value


def _dest(flags: tuple[str, ...], dest: ast.expr | None) -> str | None:
    if dest is not None:
        return dest.value if isinstance(dest, ast.Constant) and isinstance(dest.value, str) else None
    long = [flag for flag in flags if flag.startswith("--")]
    return (long or list(flags))[0].lstrip("-").replace("-", "_")


def render_parser(options: list[Option], consuming: list[Option] | None = None) -> str:
    """The helper's `adaptation_args` body: the options in a stdlib parser, parsed once from sys.argv. With
    `consuming` (the adaptor takes in what its parser leaves unknown), every other option of the parser too,
    by what it takes from the command line, so the same tokens are left unknown; the options read go last,
    so where two define one flag the one read keeps it (the parser resolves conflicts)."""
    read = {option.dest for option in options}
    others = [option for option in consuming or [] if option.dest not in read]
    ordered = [*others, *sorted(options, key=lambda o: o.dest)]
    guards = list(dict.fromkeys(option.guard for option in ordered if option.guard is not None))
    # what a guard's condition reads is parsed in full (type, default), not as a consuming copy
    needed = {need.dest: need for guard in guards for need in guard.needs if need.dest not in read}
    base = [
        *(option for option in others if option.guard is None and option.dest not in needed),
        *needed.values(),
        *(option for option in ordered[len(others):] if option.guard is None),
    ]
    lines = [f"    {option.call()}  # {option.where}" for option in base]
    for guard in guards:  # as the adaptor does: parse what it has so far, add these only if the condition holds
        lines.append(f"    args = parser.parse_known_args(sys.argv[1:])[0]  # before {guard.entry} adds its options")
        lines.append(f"    if {guard.condition}:")
        lines += [f"        {option.call()}  # {option.where}" for option in ordered if option.guard == guard]
    return "\n".join(lines) if lines else "    pass"


def read_files(root: Path, patterns: tuple[str, ...]) -> list[tuple[str, str]]:
    """(relative name, text) of every file the patterns match under ROOT_DIR, in pattern order."""
    seen: dict[str, str] = {}
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            name = path.relative_to(root).as_posix()
            if path.is_file() and name not in seen:
                seen[name] = path.read_text(encoding="utf-8", errors="replace")
    return list(seen.items())
