"""ImageFolder train/val sets with the transforms of the official PyTorch ImageNet example (paper
4.1)."""
from __future__ import annotations

import pathlib

import torch
import torchvision
from torchvision import transforms as T

from seg.utils.errors import MissingFileError

# ImageNet channel statistics, as the PyTorch example normalises
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def train_transform(crop: int = 224, scale=(0.08, 1.0)) -> T.Compose:
    """Returns RandomResizedCrop(crop) + horizontal flip + normalisation (the training
    augmentation)."""
    return T.Compose(
        [
            T.RandomResizedCrop(crop, scale=tuple(scale)),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ]
    )


def eval_transform(resize: int = 256, crop: int = 224) -> T.Compose:
    """Returns Resize(shorter side = resize) + CenterCrop(crop) + normalisation ("1-crop
    testing")."""
    return T.Compose([T.Resize(resize), T.CenterCrop(crop), T.ToTensor(), T.Normalize(MEAN, STD)])


def image_folder(root, split: str, transform) -> torchvision.datasets.ImageFolder:
    """Returns the ImageFolder of <root>/<split>/<class>/*, with an error naming the fix when it is
    missing."""
    folder = pathlib.Path(root) / split
    if not folder.is_dir():
        raise MissingFileError(
            f"no ImageFolder at {folder} (expected {folder}/<class>/<image>) — set data.root to "
            "the ImageNet folder, or make the CPU set with "
            f"datasets/make_synthetic_imagefolder.py --out {pathlib.Path(root)}"
        )
    return torchvision.datasets.ImageFolder(str(folder), transform=transform)


def build_train_set(
    root, *, crop: int = 224, scale=(0.08, 1.0)
) -> torchvision.datasets.ImageFolder:
    """Returns <root>/train with the training augmentation."""
    return image_folder(root, "train", train_transform(crop, scale))


def build_val_set(root, *, resize: int = 256, crop: int = 224, max_images: int | None = None):
    """Returns <root>/val with the evaluation transform (the first `max_images` images if given)."""
    data = image_folder(root, "val", eval_transform(resize, crop))
    if max_images is not None:
        data = torch.utils.data.Subset(data, range(min(max_images, len(data))))
    return data
