"""Task-agnostic training engine: loop, checkpoints, logs and schedules.

Segmentation plugs in through seg.engine.segmentation; another task calls `train(...)` with its
own model, dataset, step and validate callables.
"""
from seg.engine.checkpoint import load_checkpoint, resolve_resume, save_checkpoint
from seg.engine.logging import ScalarLogger, read_jsonl
from seg.engine.schedule import poly_lr_factor, poly_scheduler, step_scheduler
from seg.engine.trainer import LoopConfig, NonFiniteLossError, iterations_per_epoch, train

__all__ = [
    "LoopConfig", "NonFiniteLossError", "ScalarLogger", "iterations_per_epoch", "load_checkpoint",
    "poly_lr_factor", "poly_scheduler", "read_jsonl", "resolve_resume", "save_checkpoint",
    "step_scheduler", "train",
]
