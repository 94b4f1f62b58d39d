"""Task-agnostic training engine: loop, checkpoints, logs and distributed helpers.

Segmentation plugs in through seg.engine.segmentation; another task calls `train(...)` with its
own model, dataset, step and validate callables.
"""
from seg.engine.checkpoint import load_checkpoint, load_model, resolve_resume, save_checkpoint
from seg.engine.distributed import (all_reduce_sum, barrier, cleanup, get_rank, get_world_size, init_distributed,
                                    is_main_process)
from seg.engine.logging import ScalarLogger, read_jsonl
from seg.engine.schedule import poly_lr_factor, poly_scheduler, step_scheduler
from seg.engine.trainer import LoopConfig, NonFiniteLossError, iterations_per_epoch, train

__all__ = [
    "LoopConfig", "NonFiniteLossError", "ScalarLogger", "all_reduce_sum", "barrier", "cleanup", "get_rank",
    "get_world_size", "init_distributed", "is_main_process", "iterations_per_epoch", "load_checkpoint",
    "load_model", "poly_lr_factor", "poly_scheduler", "read_jsonl", "resolve_resume", "save_checkpoint",
    "step_scheduler", "train",
]
