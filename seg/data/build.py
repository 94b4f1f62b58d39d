"""Builders of the training and evaluation datasets from plain keyword arguments."""
from __future__ import annotations

from pathlib import Path

from .cityscapes import CityscapesSegmentation
from .class_uniform import ClassUniformDataset
from .transforms import EvalTransform, TrainTransform


def build_train_dataset(
    root: str | Path,
    *,
    fold: int = 0,
    crop_size: int = 896,
    scale_range: tuple[float, float] = (0.5, 2.0),
    coarse: bool = True,
    class_uniform_fraction: float = 0.5,
    seed: int = 0,
    color_jitter: float = 0.25,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> ClassUniformDataset:
    """Return the augmented training set (fine train cities of `fold`, plus coarse train_extra if
    `coarse`)."""
    transform = TrainTransform(crop_size, scale_range=scale_range, color_jitter=color_jitter)
    base = CityscapesSegmentation(root, "train", fold=fold, coarse=coarse, transform=transform)
    return ClassUniformDataset(
        base, fraction=class_uniform_fraction, seed=seed, cache_dir=cache_dir, progress=progress
    )


def build_eval_dataset(
    root: str | Path, split: str = "val", *, fold: int = 0
) -> CityscapesSegmentation:
    """Return full images of `split` of `fold`, without augmentation, with label and valid (all
    ones)."""
    return CityscapesSegmentation(root, split, fold=fold, coarse=False, transform=EvalTransform())
