"""Checkpoint files: atomic writes, RNG states and resume lookup.

A checkpoint is a torch.save dict: {"model": state_dict without "module.", "config": config dict,
"iteration": int, "optimizer", "scheduler", "scaler", "rng", "best_<metric>"}.
"""
from __future__ import annotations

import os
import pathlib
import random

import numpy as np
import torch


def save_checkpoint(state: dict, path) -> pathlib.Path:
    """Returns `path` after writing `state` to it atomically.

    The file is written under a temporary name in the same folder and renamed over `path`, so a
    crash or a kill mid-write leaves the previous checkpoint intact, never a truncated one.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path, map_location="cpu") -> dict:
    """Returns the dict stored in a checkpoint file, with a clear error when it is missing."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {path} not found — train one with tools/train.py or check the path"
        )
    # weights_only=False: the file also holds RNG states (numpy arrays) written by this code.
    return torch.load(path, map_location=map_location, weights_only=False)


def resolve_resume(resume: str | None, run_dir) -> pathlib.Path | None:
    """Returns the checkpoint to resume from: None, `run_dir`/last.pth for "auto" (if present), or
    the path."""
    if not resume:
        return None
    if resume == "auto":
        last = pathlib.Path(run_dir) / "last.pth"
        return last if last.is_file() else None
    path = pathlib.Path(resume)
    if not path.is_file():
        raise FileNotFoundError(
            f"train.resume={resume}: no such checkpoint — use resume=auto or a path to a .pth file"
        )
    return path


def capture_rng_state() -> dict:
    """Returns the python, numpy, torch and CUDA generator states of this process."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    """Puts back the generator states returned by capture_rng_state."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """Returns the module inside a DistributedDataParallel (or the model itself)."""
    return model.module if hasattr(model, "module") else model
