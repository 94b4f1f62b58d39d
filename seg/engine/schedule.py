"""Learning-rate schedules stepped once per iteration."""
from __future__ import annotations

import torch


def poly_lr_factor(iteration: int, iterations: int, power: float = 1.0) -> float:
    """Returns (1 - iteration / iterations) ** power, the poly decay factor (0 at the end)."""
    return max(0.0, 1.0 - iteration / iterations) ** power


def poly_scheduler(optimizer: torch.optim.Optimizer, iterations: int, power: float = 1.0):
    """Returns a LambdaLR giving lr = base_lr * poly_lr_factor(it, iterations, power) at iteration
    it."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda it: poly_lr_factor(it, iterations, power)
    )


def step_scheduler(optimizer: torch.optim.Optimizer, milestones: list[int], gamma: float = 0.1):
    """Returns a LambdaLR dividing the lr by 1/gamma at each milestone iteration (classification
    recipe)."""
    milestones = sorted(milestones)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda it: gamma ** sum(it >= m for m in milestones)
    )
