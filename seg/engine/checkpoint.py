"""Checkpoint files: atomic writes, safe loading, RNG states, finiteness and resume lookup.

A checkpoint is a torch.save dict of tensors and plain types only, so it loads with
`torch.load(weights_only=True)`: {"model": state_dict without "module.", "config": config dict,
"iteration": int, "optimizer", "scheduler", "scaler", "rng", "best_<metric>"}.
"""
from __future__ import annotations

import math
import os
import pathlib
import pickle
import random
import zipfile

import numpy as np
import torch

from seg.utils.errors import MissingFileError, UserError


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
    """Returns the dict stored in a checkpoint file; a missing, truncated or unsafe file is a
    UserError.

    weights_only=True: a pickle that would build arbitrary objects (and so could run code) is
    refused before anything in it runs.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise MissingFileError(
            f"checkpoint {path} not found — train one with tools/train.py or check the path"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights_only" not in str(err).lower():
            raise UserError(
                f"{path}: not a readable checkpoint ({_first_line(err)}) — it is truncated or "
                f"not a torch.save file; use another checkpoint (e.g. best.pth) or retrain"
            ) from None
        raise UserError(
            f"{path}: refused to load — it holds objects other than tensors and plain types "
            f"({_first_line(err)}); a checkpoint of tools/train.py never does, so load this file "
            f"only if you trust its author"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise UserError(
            f"{path}: not a readable checkpoint ({_first_line(err)}) — it is truncated or not a "
            f"torch.save file; use another checkpoint (e.g. best.pth) or retrain"
        ) from None
    if not isinstance(state, dict):
        raise UserError(
            f"{path}: holds a {type(state).__name__}, not a checkpoint dict — pass a .pth written "
            f"by tools/train.py"
        )
    return state


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def resolve_resume(resume: str | None, run_dir) -> pathlib.Path | None:
    """Returns the checkpoint to resume from: None, the newest of `run_dir`/{last,best}.pth for
    "auto", or the path.

    "auto" takes best.pth when it was written after last.pth (validation more often than
    checkpoints), so a killed run never restarts from scratch over its own best.pth.
    """
    if not resume:
        return None
    if resume == "auto":
        found = [
            p
            for p in (pathlib.Path(run_dir) / "last.pth", pathlib.Path(run_dir) / "best.pth")
            if p.is_file()
        ]
        return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None
    path = pathlib.Path(resume)
    if not path.is_file():
        raise MissingFileError(
            f"train.resume={resume}: no such checkpoint — use train.resume=auto or a path to a "
            f".pth file"
        )
    return path


def capture_rng_state() -> dict:
    """Returns the python, numpy, torch and CUDA generator states as tensors and plain types."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),  # (version, tuple of ints, float or None)
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    """Puts back the generator states returned by capture_rng_state."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state(
        (
            n["kind"],
            n["keys"].numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def nonfinite_entries(state) -> list[str]:
    """Returns the names of floating tensors holding NaN or inf in a (nested) state dict or list."""
    bad = []

    def visit(value, name):
        if isinstance(value, torch.Tensor):
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                bad.append(name)
        elif isinstance(value, float):
            if not math.isfinite(value):
                bad.append(name)
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{name}.{key}" if name else str(key))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                visit(item, f"{name}.{i}")

    visit(state, "")
    return bad


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """Returns the module inside a DistributedDataParallel (or the model itself)."""
    return model.module if hasattr(model, "module") else model
