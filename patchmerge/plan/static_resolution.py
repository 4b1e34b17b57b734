"""The built-in resolver plugin: reads source with `ast`, imports nothing."""

from __future__ import annotations

from patchmerge.hookspecs import hookimpl
from patchmerge.model import Definition
from patchmerge.plan.context import PlanContext
from patchmerge.resolution import StaticResolver

STATE_KEY = "static-resolver"


def static_resolver(context: PlanContext) -> StaticResolver:
    resolver = context.state.get(STATE_KEY)
    if resolver is None:
        resolver = context.state[STATE_KEY] = StaticResolver(context.tree)
    return resolver


@hookimpl(trylast=True)
def resolve_target(dotted: str, context: PlanContext) -> Definition | None:
    return static_resolver(context).resolve(dotted)
