"""The training loop shared by every task: iterations, AMP, DDP, checkpoints, logs, validation,
signals.

The task plugs in its parts: the model, the training dataset (+ collate), a `step(model, batch) ->
loss` callable (forward and loss; the batch is already on the device) and a `validate(model) ->
{metric: value}` callable run on every rank (rank 0's result counts). Counting is in iterations; an
epoch-based recipe sets `val_every` to the iterations of one epoch (see iterations_per_epoch).
"""
from __future__ import annotations

import math
import pathlib
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from seg.engine.checkpoint import (
    capture_rng_state,
    nonfinite_entries,
    save_checkpoint,
    unwrap_model,
)
from seg.engine.logging import ScalarLogger, ThroughputMeter
from seg.engine.prepare import (
    StopSignal,
    move_to_device,
    prepare_model,
    resolve_amp,
    worker_init,
)
from seg.engine.resume import start_run
from seg.engine.sampler import ResumableSampler, SeededSamples
from seg.utils import distributed as dist
from seg.utils.errors import UserError


@dataclass
class LoopConfig:
    """How the loop runs; nothing task-specific."""
    iterations: int  # optimiser steps in the whole run
    batch_size: int  # samples per process and step
    seed: int = 0  # data order, augmentation, and rank r's own RNGs (seed + r)
    num_workers: int = 0  # loader processes per training process
    amp: str = "auto"  # auto | off | bf16 | fp16 (see prepare.resolve_amp)
    channels_last: bool = False
    log_every: int = 20  # iterations between logged scalars
    checkpoint_every: int = 1000  # iterations between last.pth writes; always at the end
    val_every: int = 0  # iterations between validations; 0: only at the end
    best_metric: str = "mIoU"  # key of validate()'s dict that selects best.pth (higher is better)
    resume: Optional[str] = None  # None | "auto" | checkpoint path
    compile: Optional[str] = None  # torch.compile backend for the training forward; None: eager
    overwrite: bool = False  # a fresh start may replace an earlier run's files in run_dir
    allow_padding_change: bool = False  # resume from another padding (fine-tuning across them)


class NonFiniteLossError(UserError, FloatingPointError):
    """The loss or the weights became NaN or infinite; the run stopped without writing them."""


def iterations_per_epoch(dataset_len: int, batch_size: int, world_size: int = 1) -> int:
    """Returns the optimiser steps in one pass over the data (full batches on every rank)."""
    return dataset_len // (batch_size * world_size)


def build_loader(dataset, loop: LoopConfig, *, start: int, device: torch.device,
                 collate_fn=None) -> DataLoader:
    """Returns this rank's loader, resuming the seeded data order at batch `start`."""
    rank, world_size = dist.get_rank(), dist.get_world_size()
    sampler = ResumableSampler(len(dataset), batch_size=loop.batch_size, seed=loop.seed, rank=rank,
                               world_size=world_size, start_batch=start)
    return DataLoader(
        SeededSamples(dataset), batch_size=loop.batch_size, sampler=sampler,
        num_workers=loop.num_workers, collate_fn=collate_fn, pin_memory=device.type == "cuda",
        worker_init_fn=worker_init,
        # its own generator: drawing the workers' base seed must not touch the global RNG
        generator=torch.Generator().manual_seed(loop.seed + rank),
    )


def forward_loss(model, batch, step: Callable, amp_dtype,
                 device: torch.device) -> tuple[torch.Tensor, float]:
    """Returns (this rank's loss, the loss averaged over ranks) of `step` on one batch."""
    with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        loss = step(model, batch)
    mean_loss = dist.all_reduce_sum(loss.detach().float().clone()).item() / dist.get_world_size()
    return loss, mean_loss


def optimization_step(loss: torch.Tensor, optimizer, scheduler, scaler) -> None:
    """Backpropagates `loss` and takes one optimiser and one schedule step (scaled under fp16)."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    scheduler.step()


def save_training_state(path, *, iteration: int, best, model, optimizer, scheduler, scaler,
                        config: dict, loop: LoopConfig, last_good: str, device) -> None:
    """Writes everything a resume needs to `path` (rank 0); every rank must call it.

    Weights, buffers and optimiser state with NaN or inf are never written: the run stops and
    names `last_good`, the newest checkpoint that holds a finite state.
    """
    # every rank joins the gather of RNG states and the finiteness vote; rank 0 alone writes
    rng = dist.all_gather_object(capture_rng_state())
    weights, optimizer_state = unwrap_model(model).state_dict(), optimizer.state_dict()
    bad = nonfinite_entries({"model": weights, "optimizer": optimizer_state["state"]})
    if _agree(bool(bad), device):
        example = f" (e.g. {bad[0]})" if bad else " on another process"
        raise NonFiniteLossError(
            f"weights or optimiser state hold NaN or inf at iteration {iteration}{example}; "
            f"{pathlib.Path(path).name} was not written — {last_good}. Lower train.lr, or try "
            "train.amp=off, then resume with train.resume=auto")
    if dist.is_main_process():
        save_checkpoint({
            "model": weights, "config": config, "iteration": iteration,
            "optimizer": optimizer_state, "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
            "rng": rng, _best_key(loop): best, "best_metric": loop.best_metric,
        }, path)


def train(
    model: torch.nn.Module,
    dataset,
    step: Callable,
    optimizer: torch.optim.Optimizer,
    scheduler,
    loop: LoopConfig,
    *,
    run_dir,
    config: dict,
    device: torch.device,
    collate_fn=None,
    validate: Optional[Callable] = None,
) -> dict:
    """Returns {"iteration", "status" ("finished" | "interrupted"), "best", "metrics"} after
    training.

    The optimiser and scheduler must already hold `model`'s parameters (SyncBatchNorm conversion,
    moving to the device and DDP wrapping keep the same parameter objects). Only rank 0 writes
    <run_dir>/last.pth, best.pth, log.jsonl and the TensorBoard events; `config` is stored in each
    checkpoint as is.
    """
    world_size, main = dist.get_world_size(), dist.is_main_process()
    run_dir = pathlib.Path(run_dir)
    amp_dtype, scaler = resolve_amp(loop.amp, device)
    model = prepare_model(model, device, channels_last=loop.channels_last)
    metrics = {}
    start, best, resume_path = start_run(run_dir, loop, config, model=model, optimizer=optimizer,
                                         scheduler=scheduler, scaler=scaler, device=device,
                                         best_key=_best_key(loop))
    # The step runs the compiled module; checkpoints, validation and DDP's buffers use `model`
    # (same parameters), so eager validation never triggers an eval-mode recompile.
    step_model = model if loop.compile is None else torch.compile(model, backend=loop.compile)
    if start >= loop.iterations:
        if main:
            print(f"the checkpoint is at iteration {start} and train.iterations={loop.iterations}: "
                  "nothing to train — raise train.iterations to continue")
        return {"iteration": start, "status": "finished", "best": best, "metrics": metrics}

    # the newest checkpoint known to hold a finite state, named when the run has to stop
    good = {"path": resume_path, "iteration": start}

    def save(path, *, iteration, best):
        save_training_state(path, iteration=iteration, best=best, model=model, optimizer=optimizer,
                            scheduler=scheduler, scaler=scaler, config=config, loop=loop,
                            last_good=_last_good(good), device=device)
        good.update(path=path, iteration=iteration)

    loader = build_loader(dataset, loop, start=start, device=device, collate_fn=collate_fn)
    logger = ScalarLogger(run_dir, enabled=main)
    meter = ThroughputMeter(images_per_step=loop.batch_size * world_size)
    stop = StopSignal()
    bar = tqdm(total=loop.iterations, initial=start, disable=not main, dynamic_ncols=True,
               desc="train")
    iteration, status, batches = start, "finished", None
    model.train()
    try:
        batches = iter(loader)
        while iteration < loop.iterations:
            if _agree(stop.requested, device):
                status = "interrupted"
                break
            tic = time.perf_counter()
            batch = move_to_device(next(batches), device, channels_last=loop.channels_last)
            loss, mean_loss = forward_loss(step_model, batch, step, amp_dtype, device)
            if not math.isfinite(mean_loss):
                raise NonFiniteLossError(
                    f"loss is {mean_loss} at iteration {iteration + 1} — stopped; "
                    f"{_last_good(good)}. "
                    "Lower train.lr, or try train.amp=off, then resume with train.resume=auto")
            optimization_step(loss, optimizer, scheduler, scaler)
            iteration += 1
            meter.update(mean_loss, time.perf_counter() - tic)
            lr = optimizer.param_groups[0]["lr"]
            if main:
                bar.set_postfix(loss=f"{mean_loss:.4f}", lr=f"{lr:.2e}",
                                img_s=f"{meter.images_per_s():.2f}", refresh=False)
                bar.update(1)
            if _due(iteration, loop.log_every, loop.iterations):
                logger.log(iteration, {"train/loss": meter.mean_loss(), "train/lr": lr,
                                       "train/images_per_s": meter.images_per_s()})
                meter.reset()
            if validate is not None and _due(iteration, loop.val_every, loop.iterations):
                metrics = _validate(model, validate, iteration, logger, bar, loop.best_metric)
                improved = bool(metrics) and (best is None or metrics[loop.best_metric] > best)
                if _agree(improved, device):  # every rank joins the checkpoint's RNG gather
                    best = metrics.get(loop.best_metric, best)
                    save(run_dir / "best.pth", iteration=iteration, best=best)
            if _due(iteration, loop.checkpoint_every, loop.iterations):
                save(run_dir / "last.pth", iteration=iteration, best=best)
        # ranks end with identical weights and statistics
        dist.broadcast_buffers(unwrap_model(model))
        if status == "interrupted":
            save(run_dir / "last.pth", iteration=iteration, best=best)
            if main:
                bar.write(f"stopped by {stop.signal_name} at iteration {iteration}; saved "
                          f"{run_dir / 'last.pth'} — continue with train.resume=auto")
    finally:
        bar.close()
        logger.close()
        stop.restore()
        del batches
    return {"iteration": iteration, "status": status, "best": best, "metrics": metrics}


def _last_good(good: dict) -> str:
    if good["path"] is None:
        return "no checkpoint was written yet"
    return f"{good['path']} (iteration {good['iteration']}) is the last good state"


def _best_key(loop: LoopConfig) -> str:
    return f"best_{loop.best_metric.lower()}"


def _due(iteration: int, every: int, iterations: int) -> bool:
    """Returns True every `every` iterations (never when 0) and at the last iteration."""
    return bool(every) and iteration % every == 0 or iteration == iterations


def _agree(flag: bool, device: torch.device) -> bool:
    """Returns True on every rank when any rank's flag is set, so all ranks stop at the same
    iteration."""
    if dist.get_world_size() == 1:
        return flag
    return dist.all_reduce_sum(torch.tensor([float(flag)], device=device)).item() > 0


def _validate(
    model, validate: Callable, iteration: int, logger: ScalarLogger, bar, best_metric: str
) -> dict:
    """Returns validate()'s metrics, logged as val/<name> by rank 0.

    validate runs on every rank, so it can shard the images and all-reduce its counts (as
    seg.evaluation.evaluate does); rank 0's numbers are the ones logged and compared.
    """
    inner = unwrap_model(model)
    dist.broadcast_buffers(inner)
    inner.eval()
    with torch.no_grad():
        metrics = validate(inner) or {}
    inner.train()
    if metrics and best_metric not in metrics:
        raise KeyError(
            f"validate() returned {sorted(metrics)} without LoopConfig.best_metric={best_metric!r} "
            f"— return it or set best_metric to one of these keys"
        )
    if dist.is_main_process():
        logger.log(iteration, {f"val/{k}": v for k, v in metrics.items()})
        bar.write(
            f"iteration {iteration}: " + ", ".join(f"{k} {v:.2f}" for k, v in metrics.items())
        )
    return metrics
