"""Segmentation training: a Config turned into the engine's model, data, loss step and validation.

Everything task-specific of the paper's DeepLabV3+ recipe is here, including load_model, which
rebuilds a model from its checkpoint; the loop itself is seg.engine.trainer.train, shared with
other tasks.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import pickle

import torch
import torch.nn.functional as F

from seg.config import Config, ConfigError, config_to_dict, format_config, repo_path
from seg.data import (
    build_eval_dataset,
    build_train_dataset,
    collate_batch,
    resolve_data_root,
)
from seg.data.validate import check_data
from seg.engine.checkpoint import load_checkpoint, nonfinite_entries
from seg.engine.prepare import uses_sync_batchnorm
from seg.engine.run_dir import check_run_dir
from seg.engine.schedule import poly_scheduler
from seg.engine.trainer import LoopConfig, train
from seg.evaluation import evaluate
from seg.layers import (
    convert_masked_batchnorm,
    count_masked_batchnorm,
    real_pixels,
    valid_or_none,
)
from seg.models import build_model
from seg.models.pretrained import TORCHVISION_PREFIX, load_backbone
from seg.utils import distributed as dist
from seg.utils.errors import UserError
from seg.utils.labels import IGNORE_INDEX


def segmentation_step(
    model, batch, *, mask_propagation: bool = False, masked_batchnorm: bool = False
) -> torch.Tensor:
    """Returns the cross-entropy (ignore 255) of the model's logits on a training batch.

    mask_propagation=False gives the model the padded crops as images (black, label 255), so
    zero and partial padding models see the same pixels; True also passes `valid`, and the
    partial model treats the padding as holes. masked_batchnorm=True runs the forward inside
    real_pixels(valid): the model's MaskedBatchNorm2d layers leave the padding out of their
    statistics, whether or not the model itself is given `valid`.
    """
    # Crops without padding need neither: an all-ones `valid` gives the same logits and statistics.
    valid = valid_or_none(batch.get("valid")) if mask_propagation or masked_batchnorm else None
    with real_pixels(valid) if masked_batchnorm else contextlib.nullcontext():
        logits = model(batch["image"], valid if mask_propagation else None)
    return F.cross_entropy(logits.float(), batch["label"], ignore_index=IGNORE_INDEX)


def training_step(cfg: Config):
    """Returns the config's loss step: segmentation_step with its two train.* mask options."""
    t = cfg.train
    return functools.partial(segmentation_step, mask_propagation=t.mask_propagation,
                             masked_batchnorm=t.masked_batchnorm)


def check_masked_batchnorm(masked_batchnorm: bool, world_size: int,
                           device: torch.device) -> None:
    """Raises a ConfigError when train.masked_batchnorm would meet SyncBatchNorm, which has no
    masked statistics (prepare_model converts BatchNorm for several CUDA processes)."""
    if masked_batchnorm and uses_sync_batchnorm(world_size, device):
        raise ConfigError(
            "train.masked_batchnorm=true works on one GPU or on CPU processes (gloo); with "
            f"{world_size} CUDA processes BatchNorm becomes SyncBatchNorm, which has no masked "
            "statistics — set train.masked_batchnorm=false or run one process"
        )


def mask_batchnorm(model: torch.nn.Module, masked_batchnorm: bool) -> torch.nn.Module:
    """Returns model, its nn.BatchNorm2d layers switched to MaskedBatchNorm2d when
    masked_batchnorm (rank 0 says how many); the state_dict keys stay those of plain BN."""
    if not masked_batchnorm:
        return model
    convert_masked_batchnorm(model)
    if dist.is_main_process():
        print(f"masked BatchNorm: {count_masked_batchnorm(model)} layers take train-mode "
              "statistics over the real pixels of the crops", flush=True)
    return model


def validate_miou(model, dataset, *, device) -> dict:
    """Returns {"mIoU": regular mIoU in percent} of `model` on `dataset` (images sharded over
    ranks)."""
    result = evaluate(model, dataset, modes=("regular",), device=device, progress=False)
    return {"mIoU": result["mIoU"]["regular"]}


def loop_config(cfg: Config) -> LoopConfig:
    """Returns the engine settings of a segmentation Config."""
    t = cfg.train
    return LoopConfig(
        iterations=t.iterations,
        batch_size=t.batch_size,
        seed=t.seed,
        num_workers=cfg.data.num_workers,
        amp=t.amp,
        channels_last=t.channels_last,
        log_every=t.log_every,
        checkpoint_every=t.checkpoint_every,
        val_every=cfg.eval.every,
        best_metric="mIoU",
        resume=t.resume,
        compile=t.compile,
        overwrite=t.overwrite,
        allow_padding_change=t.allow_padding_change,
    )


def build_optimizer(model: torch.nn.Module, cfg: Config) -> torch.optim.SGD:
    """Returns the paper's SGD (momentum, weight decay on every parameter)."""
    t = cfg.train
    return torch.optim.SGD(
        model.parameters(), lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay
    )


def data_root_of(cfg: Config):
    """Returns the config's data root: data.root taken from the repository root (config paths are
    not cwd-relative), or $CITYSCAPES_DATASET / datasets/cityscapes when it is None."""
    return resolve_data_root(repo_path(cfg.data.root) if cfg.data.root else None)


def train_dataset_of(cfg: Config, *, seed: int | None = None, progress: bool = True):
    """Returns the config's training crops (seed: train.seed unless given)."""
    d = cfg.data
    return build_train_dataset(
        data_root_of(cfg),
        fold=d.fold,
        crop_size=d.crop_size,
        scale_range=d.scale_range,
        coarse=d.coarse,
        class_uniform_fraction=d.class_uniform_fraction,
        class_uniform_tile=d.class_uniform_tile,
        color_jitter=d.color_jitter,
        blur=d.blur,
        crop_past_border=d.crop_past_border,
        seed=cfg.train.seed if seed is None else seed,
        progress=progress,
    )


def build_datasets(cfg: Config):
    """Returns (training set, validation set) of the config's data root and fold."""
    root = data_root_of(cfg)
    d = cfg.data

    def train_set():
        return train_dataset_of(cfg, progress=dist.is_main_process())

    # Rank 0 checks every file and computes the class-uniform location cache first; the others then
    # read both caches instead of racing.
    if dist.is_main_process():
        check_data(root, fold=d.fold, coarse=d.coarse, eval_split=cfg.eval.split, progress=True)
        train_data = train_set()
    dist.barrier()
    if not dist.is_main_process():
        train_data = train_set()
    val_data = build_eval_dataset(root, cfg.eval.split, fold=d.fold)
    if cfg.eval.max_images is not None:
        val_data = torch.utils.data.Subset(val_data, range(min(cfg.eval.max_images, len(val_data))))
    return train_data, val_data


def pretrained_source(source: str | None) -> str | None:
    """Returns model.pretrained_backbone, a relative file path taken from the repository root."""
    if source is None or source.startswith(TORCHVISION_PREFIX):
        return source
    return str(repo_path(source))


def load_encoder(model: torch.nn.Module, source: str | None) -> None:
    """Loads the ImageNet weights named by `source` into the trunk and says what was loaded."""
    main = dist.is_main_process()
    if source is None:
        if main:
            print("model.pretrained_backbone: null -- the encoder starts from random weights, "
                  "not ImageNet (the paper's models start from ImageNet)", flush=True)
        return
    report = load_backbone(model.backbone, pretrained_source(source))
    if main:
        print(report.summary(source), flush=True)


def training_data_scalars(train_data) -> dict:
    """Returns {tag: value}: the share of coarse crops (epoch 0, expected); rank 0 prints it."""
    if not hasattr(train_data, "coarse_fraction"):
        return {}
    if dist.is_main_process():
        print(train_data.describe(), flush=True)
    return {
        "data/coarse_fraction": train_data.coarse_fraction(0),
        "data/expected_coarse_fraction": train_data.expected_coarse_fraction(),
    }


def build_model_of(cfg: Config) -> torch.nn.Module:
    """Returns the config's model with its ImageNet encoder loaded; a bad model value or
    pretrained_backbone file is a ConfigError."""
    kwargs = dataclasses.asdict(cfg.model)
    backbone = kwargs.pop("pretrained_backbone")
    try:
        model = build_model(**kwargs)
        load_encoder(model, backbone)
        return model
    except UserError:
        raise
    except pickle.UnpicklingError as err:
        raise ConfigError(
            f"model.pretrained_backbone={backbone}: refused to load — it holds objects other than "
            f"tensors ({str(err).strip().splitlines()[0][:160]}); use a plain state_dict file "
            f"you trust"
        ) from None
    except (FileNotFoundError, ValueError, RuntimeError, EOFError) as err:
        source = f"model.pretrained_backbone={backbone}" if backbone else "model"
        raise ConfigError(f"{source}: {str(err).strip().splitlines()[0]}") from None


def train_segmentation(cfg: Config) -> dict:
    """Returns the engine's result after training the config's model; the whole run in one call."""
    # refused before anything is loaded or written; the engine checks again as it starts
    check_run_dir(cfg.run_dir(), resuming=bool(cfg.train.resume), overwrite=cfg.train.overwrite)
    device = dist.init_distributed(cfg.train.device)
    check_masked_batchnorm(cfg.train.masked_batchnorm, dist.get_world_size(), device)
    if dist.is_main_process():
        print(format_config(cfg), flush=True)
    # Same initial weights on every rank (DDP broadcasts rank 0's anyway).
    torch.manual_seed(cfg.train.seed)
    model = mask_batchnorm(build_model_of(cfg), cfg.train.masked_batchnorm)
    optimizer = build_optimizer(model, cfg)
    scheduler = poly_scheduler(optimizer, cfg.train.iterations, cfg.train.poly_power)
    train_data, val_data = build_datasets(cfg)
    validate = functools.partial(validate_miou, dataset=val_data, device=device)
    step = training_step(cfg)
    return train(
        model,
        train_data,
        step,
        optimizer,
        scheduler,
        loop_config(cfg),
        run_dir=cfg.run_dir(),
        config=config_to_dict(cfg),
        device=device,
        collate_fn=collate_batch,
        validate=validate,
        start_scalars=training_data_scalars(train_data),
    )


def load_model(path, *, padding: str | None = None, map_location="cpu"):
    """Returns (model in eval mode, config dict) rebuilt from a segmentation checkpoint.

    `padding` overrides the stored padding mode (the paper's cross testing); the weights load
    strictly, since every padding mode has the same parameters. Weights with NaN or inf are refused.
    """
    state = load_checkpoint(path, map_location=map_location)
    if "config" not in state or "model" not in state:
        raise UserError(
            f"{path}: not a training checkpoint (needs 'model' and 'config' keys, has "
            f"{sorted(state)}) — pass a last.pth or best.pth of tools/train.py"
        )
    bad = nonfinite_entries(state["model"])
    if bad:
        # such weights would be scored as a model while predicting garbage
        raise UserError(
            f"{path}: {len(bad)} tensor(s) hold NaN or inf (e.g. {bad[0]}) — the run diverged; "
            f"use an earlier checkpoint or retrain with a lower train.lr"
        )
    config = state["config"]
    kwargs = {k: v for k, v in config["model"].items() if k != "pretrained_backbone"}
    if padding is not None:
        kwargs["padding"] = padding
    model = build_model(**kwargs)
    model.load_state_dict(state["model"], strict=True)
    return model.eval(), config
