"""Classification training: a ClassificationConfig turned into the engine's model, data, step and
validation.

The loop, AMP, DDP, checkpoints, resume, signals and logs are seg.engine.trainer.train, the same as
segmentation's. The paper's recipe counts epochs; the engine counts iterations, so one epoch is
iterations_per_epoch(len(train set), batch, world size) steps: validation every epoch
(val_every), last.pth at epoch ends (checkpoint_every) and the lr divided by 10 at the first
iteration of epochs 30, 60 and 90 (step_scheduler with milestones in iterations).
"""
from __future__ import annotations

import functools
import json

import torch
import torch.nn.functional as F

from seg.classification.checkpoint import load_classifier
from seg.classification.config import ClassificationConfig, config_to_dict, format_config, repo_path
from seg.classification.data import build_train_set, build_val_set
from seg.classification.evaluate import evaluate_classifier
from seg.classification.intervals import image_names, save_hits
from seg.classification.models import build_classifier, classifier_logits
from seg.classification.runs import RUN_INFO, read_run, write_summary
from seg.engine.run_dir import check_run_dir
from seg.engine.schedule import step_scheduler
from seg.engine.trainer import LoopConfig, iterations_per_epoch, train
from seg.utils import distributed as dist
from seg.utils.errors import BadValueError


def classification_step(model, batch) -> torch.Tensor:
    """Returns the cross-entropy of the model's logits on an (images, targets) batch."""
    images, targets = batch
    return F.cross_entropy(classifier_logits(model(images)).float(), targets)


def validate_topk(model, dataset, *, device, batch_size: int, num_workers: int) -> dict:
    """Returns {"top1", "top5"} in percent of `model` on `dataset` (images sharded over ranks)."""
    result = evaluate_classifier(
        model, dataset, device=device, batch_size=batch_size, num_workers=num_workers
    )
    return {"top1": result["top1"], "top5": result["top5"]}


def lr_milestones(cfg: ClassificationConfig, per_epoch: int) -> list[int]:
    """Returns the iterations at which the lr drops: the first step of epochs 30, 60, 90 by
    default."""
    t = cfg.train
    return [epoch * per_epoch for epoch in range(t.lr_step_epochs, t.epochs, t.lr_step_epochs)]


def loop_config(cfg: ClassificationConfig, per_epoch: int) -> LoopConfig:
    """Returns the engine settings of a classification config, epochs turned into iterations."""
    t = cfg.train
    return LoopConfig(
        iterations=t.epochs * per_epoch,
        batch_size=t.batch_size,
        seed=t.seed,
        num_workers=cfg.data.num_workers,
        amp=t.amp,
        channels_last=t.channels_last,
        log_every=t.log_every,
        checkpoint_every=t.checkpoint_every_epochs * per_epoch,
        val_every=cfg.eval.every_epochs * per_epoch,
        best_metric="top1",
        resume=t.resume,
        overwrite=t.overwrite,
        allow_padding_change=t.allow_padding_change,
    )


def build_optimizer(model: torch.nn.Module, cfg: ClassificationConfig) -> torch.optim.SGD:
    """Returns the PyTorch example's SGD (momentum, weight decay on every parameter)."""
    t = cfg.train
    return torch.optim.SGD(
        model.parameters(), lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay
    )


def train_classifier(cfg: ClassificationConfig) -> dict:
    """Returns the engine's result plus the run summary (per-epoch top-1/top-5, best, last-5
    mean)."""
    # refused before run.json is written over another run's; the engine checks again as it starts
    check_run_dir(cfg.run_dir(), resuming=bool(cfg.train.resume), overwrite=cfg.train.overwrite)
    device = dist.init_distributed(cfg.train.device)
    main = dist.is_main_process()
    if main:
        print(format_config(cfg), flush=True)
    root, d = repo_path(cfg.data.root), cfg.data
    train_set = build_train_set(root, crop=d.train_crop, scale=d.crop_scale)
    val_set = build_val_set(
        root, resize=d.eval_resize, crop=d.eval_crop, max_images=cfg.eval.max_images
    )
    per_epoch = iterations_per_epoch(len(train_set), cfg.train.batch_size, dist.get_world_size())
    if per_epoch == 0:
        raise BadValueError(
            f"{root}/train has {len(train_set)} images, fewer than one batch of "
            f"{cfg.train.batch_size} "
            f"on each of {dist.get_world_size()} processes — lower train.batch_size"
        )
    if main:  # what runs.read_run needs to turn logged iterations back into epochs
        cfg.run_dir().mkdir(parents=True, exist_ok=True)
        (cfg.run_dir() / RUN_INFO).write_text(
            json.dumps(
                {
                    "config": config_to_dict(cfg),
                    "iterations_per_epoch": per_epoch,
                    "world_size": dist.get_world_size(),
                    "train_images": len(train_set),
                    "val_images": len(val_set),
                },
                indent=2,
            )
        )
    # same initial weights on every rank; the seed names the repetition
    torch.manual_seed(cfg.train.seed)
    model = build_classifier(
        cfg.model.name, num_classes=cfg.model.num_classes, padding=cfg.model.padding
    )
    optimizer = build_optimizer(model, cfg)
    scheduler = step_scheduler(optimizer, lr_milestones(cfg, per_epoch), cfg.train.lr_gamma)
    validate = functools.partial(
        validate_topk,
        dataset=val_set,
        device=device,
        batch_size=cfg.eval.batch_size,
        num_workers=min(cfg.data.num_workers, 4),
    )
    result = train(
        model,
        train_set,
        classification_step,
        optimizer,
        scheduler,
        loop_config(cfg, per_epoch),
        run_dir=cfg.run_dir(),
        config=config_to_dict(cfg),
        device=device,
        validate=validate,
    )
    if result["status"] == "finished":
        save_last_hits(cfg, val_set, device)
    if main:
        result["summary"] = read_run(cfg.run_dir())
        write_summary(cfg.run_dir(), result["summary"])
    return result


def save_last_hits(cfg: ClassificationConfig, val_set, device) -> None:
    """Evaluates last.pth again (each rank a share); saves each val image's hits for intervals."""
    model, _ = load_classifier(cfg.run_dir() / "last.pth", map_location=device)
    out = evaluate_classifier(model.to(device), val_set, device=device,
                              batch_size=cfg.eval.batch_size, per_image=True)
    if dist.is_main_process():
        save_hits(cfg.run_dir(), out["hits"], image_names(val_set),
                  {"name": cfg.run_name, "data_root": str(repo_path(cfg.data.root)),
                   "padding": cfg.model.padding, "seed": cfg.train.seed, "model": cfg.model.name})
