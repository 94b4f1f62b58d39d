"""Starting a run: a fresh start or a resume from a checkpoint (weights, optimiser, schedule, RNGs).

The optimiser's hyperparameters (lr, momentum, weight decay) and the schedule come from the
config of this start, not from the checkpoint: a resume with a lower train.lr, another momentum
or more iterations continues with them. With an unchanged config they are equal to the stored
ones, and the run continues bit for bit.
"""

from __future__ import annotations

import pathlib

import torch

from seg.engine.checkpoint import (
    load_checkpoint,
    resolve_resume,
    restore_rng_state,
    unwrap_model,
)
from seg.engine.prepare import seed_everything
from seg.engine.run_dir import (
    check_run_dir,
    check_same_model,
    clear_run,
    config_changes,
    remove_stale_temporaries,
    trim_log,
    write_config,
)
from seg.utils import distributed as dist
from seg.utils.errors import UserError


def start_run(
    run_dir: pathlib.Path,
    loop,
    config: dict,
    *,
    model,
    optimizer,
    scheduler,
    scaler,
    device,
    best_key: str,
) -> tuple:
    """Returns (start iteration, best, resumed checkpoint or None) after preparing `run_dir`.

    A fresh start into a folder holding another run is refused (unless loop.overwrite); a resume
    refuses a checkpoint of another model, prints the config values that changed and drops the
    log records after the checkpoint, which the run logs again.
    """
    rank, world_size, main = dist.get_rank(), dist.get_world_size(), dist.is_main_process()
    resume_path = resolve_resume(loop.resume, run_dir)
    in_place = resume_path is not None and resume_path.resolve().parent == run_dir.resolve()
    check_run_dir(run_dir, resuming=in_place, overwrite=loop.overwrite)
    if main:
        for path in remove_stale_temporaries(run_dir):
            print(f"removed {path}, left by an interrupted write")
        if not in_place and loop.overwrite and clear_run(run_dir):
            print(f"train.overwrite=true: removed the earlier run's files from {run_dir}")
    start, best = 0, None
    if resume_path is not None:
        state = load_checkpoint(resume_path, map_location=device)
        check_same_model(
            resume_path, state.get("config"), config, allow_padding_change=loop.allow_padding_change
        )
        start, best = load_state(
            state, model, optimizer, scheduler, scaler, best_key, rank, world_size
        )
        if main:
            print(f"resumed from {resume_path} at iteration {start}")
            changes = config_changes(state.get("config"), config)
            if changes:  # they take effect: optimiser values and schedule come from the config
                print("changed since the checkpoint: " + "; ".join(changes))
            if in_place:
                trim_log(run_dir, start)
    else:
        seed_everything(loop.seed + rank)
    if main:
        write_config(run_dir, config)
    return start, best, resume_path


def load_state(state, model, optimizer, scheduler, scaler, best_key, rank, world_size):
    """Returns (iteration, best) after loading a checkpoint's weights, optimiser, schedule, scaler
    and RNGs into objects built from the current config."""
    try:
        unwrap_model(model).load_state_dict(state["model"])
    except RuntimeError as err:
        raise UserError(
            f"the checkpoint's weights do not fit this model ({str(err).splitlines()[0]}; "
            f"{str(err).count(chr(10))} lines of differences) — resume from a checkpoint of the "
            f"same model.name"
        ) from None
    hyper = [
        {k: v for k, v in g.items() if k not in ("params", "lr", "initial_lr")}
        for g in optimizer.param_groups
    ]
    base_lrs = [g.get("initial_lr", g["lr"]) for g in optimizer.param_groups]
    optimizer.load_state_dict(state["optimizer"])
    for group, values in zip(optimizer.param_groups, hyper):
        group.update(values)
    scheduler.load_state_dict(state["scheduler"])
    rebase_schedule(scheduler, optimizer, base_lrs)
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    rng = state.get("rng") or []
    if len(rng) == world_size:
        restore_rng_state(rng[rank])
    else:  # another process count: no per-rank state to continue, so derive a fresh one
        seed_everything(state["iteration"] * 1000 + rank)
    return state["iteration"], state.get(best_key)


def rebase_schedule(scheduler, optimizer, base_lrs) -> None:
    """Puts the config's base lrs into a loaded LambdaLR and sets each group's lr for this step.

    The same product LambdaLR.step computes (base_lr * factor(step)), so an unchanged config
    continues bit for bit; the factor is the config's (iterations, poly power, milestones).
    """
    if not isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR):
        return
    scheduler.base_lrs = list(base_lrs)
    lrs = [
        base * factor(scheduler.last_epoch) for base, factor in zip(base_lrs, scheduler.lr_lambdas)
    ]
    for group, base, lr in zip(optimizer.param_groups, base_lrs, lrs):
        group["initial_lr"], group["lr"] = base, lr
    scheduler._last_lr = lrs
