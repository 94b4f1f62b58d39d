"""Typed config of a classification run (paper section 4.1), loaded from YAML like seg.config.

The loading, `key=value` overrides, type checks and "did you mean" errors are seg.config's; only
the dataclasses differ. Counting is in epochs here (the paper's recipe) and turned into the
engine's iterations by seg.classification.train.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from typing import Optional

from seg import config as base
from seg.config import (  # noqa: F401  (re-exported)
    REPO_ROOT,
    ConfigError,
    above,
    at_least,
    config_to_dict,
    format_config,
    ordered_pair,
    repo_path,
    within,
)


@dataclass
class ClassifierModelConfig:
    """The keywords of seg.classification.build_classifier, exactly."""
    # any torchvision classification model; the paper: vgg16_bn, vgg19_bn, resnet50/101/152
    name: str = "resnet50"
    num_classes: int = 1000  # ImageNet
    padding: str = "partial"  # zeros | reflect | replicate | circular | partial


@dataclass
class ClassifierDataConfig:
    """The ImageFolder tree (<root>/train/<class>/*, <root>/val/<class>/*) and the paper's
    transforms."""
    root: str = "datasets/imagenet"  # relative paths are taken from the repository root
    # RandomResizedCrop size (+ horizontal flip), as the PyTorch ImageNet example
    train_crop: int = 224
    crop_scale: tuple[float, float] = (0.08, 1.0)  # RandomResizedCrop's area range
    eval_resize: int = 256  # shorter side before the centre crop
    eval_crop: int = 224  # single centre crop ("1-crop testing")
    num_workers: int = 8  # loader processes per training process


@dataclass
class ClassifierTrainConfig:
    """Optimiser, schedule and loop settings; the defaults are the paper's ImageNet recipe."""
    epochs: int = 100  # paper: 100 (the PyTorch example's 90, extended like Wu et al.)
    batch_size: int = 32  # images per process; 8 GPUs x 32 = 256, the PyTorch example's batch
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1.0e-4
    lr_step_epochs: int = 30  # lr divided by 1/lr_gamma at epochs 30, 60, 90
    lr_gamma: float = 0.1
    seed: int = 0  # also names the run's repetition: the paper trains each network 5 times
    amp: str = "auto"  # auto: bf16 (or fp16 + GradScaler) on CUDA, off on the CPU
    channels_last: bool = False
    device: str = "auto"
    log_every: int = 50  # iterations between logged training scalars
    checkpoint_every_epochs: int = 1  # last.pth at these epoch ends (and always at the end)
    resume: Optional[str] = None  # None | "auto" | a checkpoint path
    # true: a fresh start replaces the checkpoints and logs of an earlier run of run_name
    overwrite: bool = False
    # true: resume from a checkpoint of another padding (fine-tuning across paddings)
    allow_padding_change: bool = False


@dataclass
class ClassifierEvalConfig:
    """Validation during training: top-1/top-5 on the val folder, single centre crop."""
    every_epochs: int = 1  # the paper evaluates every epoch (best and last-5 average need it)
    batch_size: int = 64
    max_images: Optional[int] = None  # validate on the first N images only (None: all)


@dataclass
class ClassificationConfig:
    """A whole classification training run."""
    model: ClassifierModelConfig = field(default_factory=ClassifierModelConfig)
    data: ClassifierDataConfig = field(default_factory=ClassifierDataConfig)
    train: ClassifierTrainConfig = field(default_factory=ClassifierTrainConfig)
    eval: ClassifierEvalConfig = field(default_factory=ClassifierEvalConfig)
    run_name: str = ""  # "" -> the config file's name plus _seed<seed>
    output_dir: str = "checkpoints"  # relative paths are taken from the repository root

    def run_dir(self) -> pathlib.Path:
        """Returns the folder this run writes checkpoints and logs into."""
        return repo_path(self.output_dir) / self.run_name


# Values a run cannot use even though their type is right (see seg.config.RANGES).
RANGES = {
    "model.num_classes": at_least(1),
    "data.train_crop": at_least(1),
    "data.crop_scale": ordered_pair(0.0, 1.0),
    "data.eval_resize": at_least(1),
    "data.eval_crop": at_least(1),
    "data.num_workers": at_least(0),
    "train.epochs": at_least(1),
    "train.batch_size": at_least(1),
    "train.lr": above(0.0),
    "train.momentum": within(0.0, 1.0),
    "train.weight_decay": at_least(0.0),
    "train.lr_step_epochs": at_least(1),
    "train.lr_gamma": within(0.0, 1.0),
    "train.seed": at_least(0),
    "train.log_every": at_least(1),
    "train.checkpoint_every_epochs": at_least(1),
    "eval.every_epochs": at_least(1),
    "eval.batch_size": at_least(1),
    "eval.max_images": at_least(1),
}


def load_classification_config(path, overrides=()) -> ClassificationConfig:
    """Returns the ClassificationConfig of a YAML file with `key=value` overrides applied on top."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file {path} not found — pass one of the classification recipes in "
            f"{REPO_ROOT / 'configs'} (e.g. resnet18_synthetic_partial.yaml)"
        )
    cfg = base.load_config(path, overrides, schema=ClassificationConfig, ranges=RANGES)
    # one folder per repetition, so 5 seeds of one recipe do not overwrite each other
    if cfg.run_name == path.stem:
        cfg.run_name = f"{path.stem}_seed{cfg.train.seed}"
    return cfg
