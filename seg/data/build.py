"""Builders of the training and evaluation datasets from plain keyword arguments."""

from __future__ import annotations

from pathlib import Path

from .cityscapes import CityscapesSegmentation, coarse_samples, find_samples
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
    class_uniform_tile: int = 1024,
    seed: int = 0,
    color_jitter: float = 0.25,
    blur: bool = True,
    crop_past_border: bool = False,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> ClassUniformDataset:
    """Return the augmented training crops: an epoch of the fold's fine train images.

    With `coarse`, the train_extra frames join the class-uniform centroid lists (not the epoch).
    """
    transform = TrainTransform(
        crop_size,
        scale_range=scale_range,
        color_jitter=color_jitter,
        blur=blur,
        crop_past_border=crop_past_border,
    )
    fine = find_samples(root, "train", fold=fold)
    extra = coarse_samples(root) if coarse else []
    return ClassUniformDataset(
        fine,
        extra,
        transform,
        fraction=class_uniform_fraction,
        tile_size=class_uniform_tile,
        seed=seed,
        cache_dir=cache_dir,
        root=Path(root),
        progress=progress,
    )


def build_eval_dataset(
    root: str | Path, split: str = "val", *, fold: int = 0
) -> CityscapesSegmentation:
    """Return full images of `split` of `fold`, unaugmented, with label and valid (all ones)."""
    return CityscapesSegmentation(root, split, fold=fold, coarse=False, transform=EvalTransform())
