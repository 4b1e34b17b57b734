"""From a PatchSet to a Plan: resolve every target and patch, classify the fusion, note fidelity risks."""

from patchmerge.planning.context import PlanContext
from patchmerge.planning.planner import build_plan

__all__ = ["PlanContext", "build_plan"]
