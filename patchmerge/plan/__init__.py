"""From a PatchSet to a Plan: resolve every target and patch, classify the fusion, note fidelity risks."""

from patchmerge.plan.context import create_plan_context
from patchmerge.plan.planner import build_plan
from patchmerge.plugin_types import PlanContext

__all__ = ["PlanContext", "build_plan", "create_plan_context"]
