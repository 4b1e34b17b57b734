"""A condition function's body evaluated on the source, with `args` the adaptor's parse (see condition_calls):
what it returns, as an expression over `args` and the helper's parses of the command line, or `Unreadable`
with what it does that no such expression stands for."""

from __future__ import annotations

import ast
import copy
import hashlib
from dataclasses import dataclass, replace

from patchmerge.fusion.insource.adaptor_args import AdaptorArgs, Option, add_option
from patchmerge.fusion.stanza import HELPER_ALIAS
from patchmerge.fusion.top_imports import top_level_imports


@dataclass(frozen=True)
class ArgvParse:
    """A parser a condition function builds and parses the command line with, as it writes it."""

    name: str  # the helper function that returns its parse
    constructor: str  # the ArgumentParser(...) keywords, as source
    options: tuple[Option, ...]
    where: str  # the function that builds it, file:line

    def render(self) -> str:
        calls = "\n".join(f"        {option.call()}" for option in self.options)
        return (
            f"def {self.name}():\n"
            f'    """The parse of the command line that the condition function at {self.where} makes."""\n'
            f"    if {self.name!r} not in _ARGV_PARSES:\n"
            "        import argparse\n\n"
            f"        parser = argparse.ArgumentParser({self.constructor})\n"
            f"{calls}\n"
            f"        _ARGV_PARSES[{self.name!r}] = parser.parse_known_args(sys.argv[1:])[0]\n"
            f"    return _ARGV_PARSES[{self.name!r}]\n"
        )


@dataclass(frozen=True)
class FunctionSource:
    """A condition function's def and the module it is in."""

    function: ast.FunctionDef
    module: ast.Module
    where: str  # file:line


class Unreadable(Exception):
    """The function does something an expression over the parse cannot stand for."""


@dataclass(frozen=True)
class _Args:
    pass


@dataclass(frozen=True)
class _Parser:
    """A parser as built so far: a value, so each side of an undecided `if` builds its own, and a parse sees
    the options added before it."""

    constructor: str
    options: tuple[Option, ...]
    line: int


@dataclass(frozen=True)
class _KnownParse:
    parser: _Parser


@dataclass(frozen=True)
class _Parsed:
    parser: _Parser


@dataclass(frozen=True)
class _Method:
    parser: _Parser
    name: str


@dataclass(frozen=True)
class _Named:
    """A name the function reads from its module (an import): usable only as what it is known to be."""

    dotted: str


@dataclass(frozen=True)
class _Const:
    value: object


def condition_value(node: ast.expr) -> object:
    if isinstance(node, ast.Name) and node.id == "args":
        return _Args()
    if isinstance(node, ast.Constant):
        return _Const(node.value)
    raise Unreadable(f"the condition passes {ast.unparse(node)!r}, not args or a constant")


def as_expression(value: object) -> ast.expr:
    if isinstance(value, _Const):
        return ast.Constant(value.value)
    if isinstance(value, _Args):
        return ast.Name("args", ast.Load())
    if isinstance(value, ast.expr):
        return value
    raise Unreadable(f"it returns {type(value).__name__.strip('_').lower()}, which is not a value of the parse")


def _truth(value: object) -> bool | None:
    """Its truth when the source decides it, else None (an argparse Namespace defines no __bool__ or __len__)."""
    if isinstance(value, _Const):
        return bool(value.value)
    if isinstance(value, _Args | _KnownParse | _Parsed | _Parser):
        return True
    return None


class Evaluator:
    def __init__(self, source: FunctionSource, adaptor: AdaptorArgs) -> None:
        self.source = source
        self.adaptor = adaptor
        self.file = source.where.rsplit(":", 1)[0]
        self.parses: list[ArgvParse] = []
        self.imports = _module_imports(source.module)

    def fail(self, node: ast.AST, what: str) -> Unreadable:
        return Unreadable(f"{self.source.function.name} ({self.source.where}) {what} at line {node.lineno}")

    def call(self, positional: list[object], keywords: dict[str, object]) -> object:
        spec = self.source.function.args
        if spec.vararg or spec.kwarg or spec.posonlyargs or spec.kwonlyargs:
            raise Unreadable(f"{self.source.function.name} ({self.source.where}) takes *args, ** or keyword-only")
        names = [a.arg for a in spec.args]
        if len(positional) > len(names) or set(keywords) - set(names):
            raise Unreadable(f"the condition calls {self.source.function.name} with arguments it does not take")
        env: dict[str, object] = dict(zip(names, positional, strict=False)) | keywords
        defaults = dict(zip(names[len(names) - len(spec.defaults):], spec.defaults, strict=True))
        for name in names:
            if name not in env:
                if name not in defaults or not isinstance(defaults[name], ast.Constant):
                    raise Unreadable(f"{self.source.function.name} ({self.source.where}): {name} gets no value")
                env[name] = _Const(defaults[name].value)  # type: ignore[union-attr]
        return self.block(list(self.source.function.body), env)

    def block(self, statements: list[ast.stmt], env: dict[str, object]) -> object:
        for position, statement in enumerate(statements):
            rest = statements[position + 1:]
            if isinstance(statement, ast.Return):
                return self.expr(statement.value, env) if statement.value else _Const(None)
            if isinstance(statement, ast.If):
                test = self.expr(statement.test, env)
                truth = _truth(test)
                if truth is not None:
                    return self.block([*(statement.body if truth else statement.orelse), *rest], env)
                body = self.block([*statement.body, *rest], dict(env))
                orelse = self.block([*statement.orelse, *rest], dict(env))
                return ast.IfExp(as_expression(test), as_expression(body), as_expression(orelse))
            self.statement(statement, env)
        return _Const(None)

    def statement(self, statement: ast.stmt, env: dict[str, object]) -> None:
        if isinstance(statement, ast.Pass):
            return
        if isinstance(statement, ast.Expr):
            if isinstance(statement.value, ast.Constant):
                return  # a docstring
            self.add_argument(statement.value, env)
            return
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], self.expr(statement.value, env)
            if isinstance(target, ast.Name):
                env[target.id] = value
                return
            if (isinstance(target, ast.Tuple) and isinstance(value, _KnownParse) and len(target.elts) == 2
                    and all(isinstance(e, ast.Name) for e in target.elts)):
                parsed, unknown = target.elts
                assert isinstance(parsed, ast.Name) and isinstance(unknown, ast.Name)
                env[parsed.id], env[unknown.id] = _Parsed(value.parser), _Named("the arguments it did not know")
                return
        raise self.fail(statement, f"runs {ast.unparse(statement).splitlines()[0]!r}")

    def add_argument(self, node: ast.expr, env: dict[str, object]) -> None:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"):
            raise self.fail(node, f"runs {ast.unparse(node)!r}")
        parser = self.expr(node.func.value, env)
        if not isinstance(parser, _Parser) or not isinstance(node.func.value, ast.Name):
            raise self.fail(node, f"runs {ast.unparse(node)!r} on something other than its own parser")
        found = AdaptorArgs()
        add_option(found, node, f"{self.file}:{node.lineno}")
        options = [option for options in found.options.values() for option in options]
        if found.unreadable or len(options) != 1:
            raise self.fail(node, f"adds an option that cannot be read statically ({ast.unparse(node)!r})")
        env[node.func.value.id] = replace(parser, options=(*parser.options, options[0]))

    def expr(self, node: ast.expr, env: dict[str, object]) -> object:  # noqa: C901 - one case per form
        if isinstance(node, ast.Constant):
            return _Const(node.value)
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            if node.id in self.imports:
                return _Named(self.imports[node.id])
            raise self.fail(node, f"reads {node.id!r}, which it does not bind")
        if isinstance(node, ast.IfExp):
            test = self.expr(node.test, env)
            truth = _truth(test)
            if truth is not None:
                return self.expr(node.body if truth else node.orelse, env)
            return ast.IfExp(as_expression(test), as_expression(self.expr(node.body, env)),
                             as_expression(self.expr(node.orelse, env)))
        if isinstance(node, ast.BoolOp):
            return self.bool_op(node, env)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            operand = self.expr(node.operand, env)
            truth = _truth(operand)
            return _Const(not truth) if truth is not None else ast.UnaryOp(ast.Not(), as_expression(operand))
        if isinstance(node, ast.Compare):
            operands = [as_expression(self.expr(o, env)) for o in (node.left, *node.comparators)]
            return ast.Compare(operands[0], list(node.ops), operands[1:])
        if isinstance(node, ast.Attribute):
            return self.attribute(node, self.expr(node.value, env))
        if isinstance(node, ast.Subscript):
            base, index = self.expr(node.value, env), self.expr(node.slice, env)
            if isinstance(base, _KnownParse) and index == _Const(0):
                return _Parsed(base.parser)
        if isinstance(node, ast.Call):
            return self.call_expr(node, env)
        raise self.fail(node, f"computes {ast.unparse(node)!r}")

    def bool_op(self, node: ast.BoolOp, env: dict[str, object]) -> object:
        stops = isinstance(node.op, ast.Or)  # `or` stops at a true operand, `and` at a false one
        kept: list[object] = []
        for position, operand in enumerate(node.values):
            value = self.expr(operand, env)
            truth = _truth(value)
            last = position == len(node.values) - 1
            if truth is stops:
                kept.append(value)
                break
            if truth is None or last:
                kept.append(value)
        if len(kept) == 1:
            return kept[0]
        return ast.BoolOp(copy.copy(node.op), [as_expression(v) for v in kept])

    def attribute(self, node: ast.Attribute, base: object) -> object:
        if isinstance(base, _Args):
            option = self.adaptor.option(node.attr)
            if isinstance(option, str):
                raise self.fail(node, f"reads args.{node.attr}: {option}")
            return ast.Attribute(ast.Name("args", ast.Load()), node.attr, ast.Load())
        if isinstance(base, _Parsed):
            parse = self.argv_parse(base.parser)
            if node.attr not in {option.dest for option in parse.options}:
                raise self.fail(node, f"reads .{node.attr}, which its parser does not define")
            helper = ast.Attribute(ast.Name(HELPER_ALIAS, ast.Load()), parse.name, ast.Load())
            return ast.Attribute(ast.Call(helper, [], []), node.attr, ast.Load())
        if isinstance(base, _Named):
            return _Named(f"{base.dotted}.{node.attr}")
        if isinstance(base, _Parser) and node.attr in ("add_argument", "parse_known_args"):
            return _Method(base, node.attr)
        raise self.fail(node, f"reads {ast.unparse(node)!r}")

    def call_expr(self, node: ast.Call, env: dict[str, object]) -> object:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("hasattr", "getattr") and func.id not in env:
            values = [self.expr(a, env) for a in node.args]
            if (len(values) >= 2 and isinstance(values[0], _Args) and isinstance(values[1], _Const)
                    and isinstance(values[1].value, str) and not node.keywords):
                option = self.adaptor.option(values[1].value)
                if isinstance(option, str):
                    raise self.fail(node, f"asks {func.id} of args.{values[1].value}: {option}")
                if func.id == "hasattr" and len(values) == 2:
                    return _Const(True)  # the adaptor's parser defines it, so its parse has it
                if func.id == "getattr" and len(values) <= 3:
                    return ast.Attribute(ast.Name("args", ast.Load()), values[1].value, ast.Load())
        callee = self.expr(func, env)
        if isinstance(callee, _Named) and callee.dotted in ("argparse.ArgumentParser",):
            if node.args or any(k.arg is None for k in node.keywords):
                raise self.fail(node, "builds a parser with arguments that cannot be read statically")
            try:
                keywords = [f"{k.arg}={ast.literal_eval(k.value)!r}" for k in node.keywords]
            except ValueError:
                raise self.fail(node, "builds a parser with arguments that cannot be read statically") from None
            return _Parser(", ".join(keywords), (), node.lineno)
        if isinstance(callee, _Method) and callee.name == "parse_known_args":
            if node.args or node.keywords:
                raise self.fail(node, "parses something other than the command line")
            return _KnownParse(callee.parser)
        raise self.fail(node, f"calls {ast.unparse(func)}")

    def argv_parse(self, parser: _Parser) -> ArgvParse:
        where = f"{self.file}:{parser.line}"
        body = parser.constructor + "".join(option.call() for option in parser.options)
        name = "argv_" + hashlib.sha1(f"{where}\n{body}".encode()).hexdigest()[:10]
        parse = ArgvParse(name, parser.constructor, parser.options, where)
        if parse not in self.parses:
            self.parses.append(parse)
        return parse


def _module_imports(module: ast.Module) -> dict[str, str]:
    """The names the module's own top-level imports bind (to what they import), for `argparse.ArgumentParser`."""
    return {found.local: found.dotted for found in top_level_imports(module)}
