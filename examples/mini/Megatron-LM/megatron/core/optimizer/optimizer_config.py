"""Optimizer settings: a dataclass with the generated __init__ only."""

from dataclasses import dataclass


@dataclass
class OptimizerConfig:
    lr: float = 0.05
    weight_decay: float = 0.0
    clip_grad: float = 1.0
