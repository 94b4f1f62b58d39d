"""Cityscapes file discovery and the dataset returning image, label (trainIds), valid and name."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from torch.utils.data import Dataset

from seg.utils.errors import BadValueError, MissingFileError, UnreadableFileError
from seg.utils.labels import IGNORE_INDEX, check_train_ids, label_ids_to_train_ids

from .root import EXPECTED_TREE
from .splits import CITIES, fold_cities, original_split
from .transforms import EvalTransform

SPLITS = ("train", "val", "test")
IMAGE_SUFFIX = "_leftImg8bit.png"


@dataclass(frozen=True)
class Sample:
    """One image and its label file (None for unlabelled test images); `name` is relative to the
    root."""

    image: Path
    label: Path | None
    name: str


def _label_path(root: Path, image: Path, annotation: str) -> Path:
    """Return the label file of `image` in gtFine/gtCoarse, preferring a prepared
    *_labelTrainIds.png."""
    directory, city = image.parent.parent.name, image.parent.name
    stem = image.name[: -len(IMAGE_SUFFIX)]
    folder = root / annotation / directory / city
    train_ids = folder / f"{stem}_{annotation}_labelTrainIds.png"
    return train_ids if train_ids.is_file() else folder / f"{stem}_{annotation}_labelIds.png"


def _city_samples(root: Path, city: str, annotation: str, require_label: bool) -> list[Sample]:
    """Return the samples of one city, raising when an image has no label file."""
    directory = "train_extra" if annotation == "gtCoarse" else original_split(city)
    samples = []
    for image in sorted((root / "leftImg8bit" / directory / city).glob(f"*{IMAGE_SUFFIX}")):
        label = _label_path(root, image, annotation)
        if not label.is_file():
            if require_label:
                raise MissingFileError(
                    f"image {image} has no label: expected {label}. Download {annotation} "
                    "(datasets/README.md) or remove the image."
                )
            label = None
        samples.append(Sample(image, label, image.relative_to(root).as_posix()))
    return samples


def find_samples(
    root: str | Path, split: str, *, fold: int = 0, coarse: bool = False
) -> list[Sample]:
    """Return the sorted samples of `split` ("train", "val", "test") of `fold`; coarse adds
    train_extra."""
    root = Path(root)
    if split not in SPLITS:
        raise BadValueError(f"split must be one of {SPLITS}, got {split!r}")
    if coarse and split != "train":
        raise BadValueError(f"coarse=True only applies to split='train', got split={split!r}")
    if not (root / "leftImg8bit").is_dir():
        raise MissingFileError(
            f"no Cityscapes data at {root / 'leftImg8bit'}. Expected tree:\n{EXPECTED_TREE}"
        )
    cities = CITIES["test"] if split == "test" else fold_cities(fold)[split]
    samples = [s for city in cities for s in _city_samples(root, city, "gtFine", split != "test")]
    if coarse:
        samples += [
            s for city in CITIES["train_extra"] for s in _city_samples(root, city, "gtCoarse", True)
        ]
    if not samples:
        tried = sorted({str(root / "leftImg8bit" / original_split(c) / c) for c in cities})
        raise MissingFileError(
            f"no *{IMAGE_SUFFIX} for split {split!r} (fold {fold}) under {root}; tried "
            f"{tried[:3]} ... "
            f"({len(tried)} city folders). Expected tree:\n{EXPECTED_TREE}"
        )
    return samples


def read_image(path: Path) -> np.ndarray:
    """Return the RGB uint8 (H, W, 3) image at `path`, raising a named error when it cannot be
    decoded."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadableFileError(
            f"cannot read image {path}: missing, truncated or not an image; re-download or "
            "re-extract it"
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_label(path: Path) -> np.ndarray:
    """Return the trainId map (uint8 (H, W), 255 = ignore) of a *_labelIds.png or
    *_labelTrainIds.png."""
    label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if label is None:
        raise UnreadableFileError(
            f"cannot read label {path}: missing, truncated or not an image; re-download or "
            "re-extract it"
        )
    if label.ndim != 2:
        raise BadValueError(
            f"label {path} has {label.shape[2]} channels; expected a single-channel *_labelIds.png"
        )
    if path.name.endswith("_labelTrainIds.png"):
        return check_train_ids(label, path)
    return label_ids_to_train_ids(label, path)


def load_sample(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """Return (RGB image, trainId label) of a sample, checking that both have the same size."""
    image = read_image(sample.image)
    if sample.label is None:
        return image, np.full(image.shape[:2], IGNORE_INDEX, dtype=np.uint8)
    label = read_label(sample.label)
    if label.shape != image.shape[:2]:
        raise BadValueError(
            f"image {sample.image} is {image.shape[1]}x{image.shape[0]} but its label "
            f"{sample.label} is "
            f"{label.shape[1]}x{label.shape[0]} (width x height); they must match pixel for pixel"
        )
    return image, label


class CityscapesSegmentation(Dataset):
    """Cityscapes images of a split/fold; items are dicts of image, label, valid and name.

    `transform(image, label, center=None, seed=None) -> {"image", "label", "valid"}` turns the uint8
    arrays into tensors; the default is the evaluation transform (full image, normalised, valid all
    1).
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        *,
        fold: int = 0,
        coarse: bool = False,
        transform: Callable | None = None,
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.fold = fold
        self.samples = find_samples(self.root, split, fold=fold, coarse=coarse)
        self.transform = transform if transform is not None else EvalTransform()

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray, str]:
        """Return (RGB uint8 image, uint8 trainId label, name) of sample `index`, untransformed."""
        sample = self.samples[index]
        image, label = load_sample(sample)
        return image, label, sample.name

    def __getitem__(self, index: int) -> dict:
        image, label, name = self.load(index)
        item = self.transform(image, label)
        item["name"] = name
        return item
