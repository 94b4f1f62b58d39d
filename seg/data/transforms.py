"""Training and evaluation pipelines: uint8 image + trainId label -> normalised tensors with
`valid`."""
from __future__ import annotations

import os

# no network check on import (offline machines)
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from seg.utils.labels import IGNORE_INDEX  # noqa: E402

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_PADDED = 255  # value of the padding-tracking mask on padded pixels; real pixels are 0


def to_tensors(image: np.ndarray, label: np.ndarray, padded: np.ndarray) -> dict[str, torch.Tensor]:
    """Return {"image" float32 (3,H,W), "label" int64 (H,W), "valid" float32 (1,H,W)} from numpy
    arrays."""
    return {
        "image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)),
        "label": torch.from_numpy(label.astype(np.int64)),
        "valid": torch.from_numpy((padded != _PADDED).astype(np.float32)[None]),
    }


def crop_origin(
    height: int,
    width: int,
    crop: tuple[int, int],
    rng: np.random.Generator,
    center: tuple[float, float] | None,
) -> tuple[int, int]:
    """Return (top, left) of a crop: centred on `center` (x, y), kept inside the image, else uniform
    at random."""
    crop_h, crop_w = crop
    if center is None:
        return int(rng.integers(0, height - crop_h + 1)), int(rng.integers(0, width - crop_w + 1))
    x, y = center
    top = int(np.clip(round(y - crop_h / 2), 0, height - crop_h))
    left = int(np.clip(round(x - crop_w / 2), 0, width - crop_w))
    return top, left


class TrainTransform:
    """Random scale, pad-if-needed (label 255, valid 0), random or centred crop, flip, blur, colour
    jitter, normalise.

    `center` (x, y) in input pixels makes the crop centred on that pixel after scaling
    (class-uniform sampling); `seed` makes one call reproducible whatever worker runs it.
    """

    def __init__(
        self,
        crop_size: int | tuple[int, int] = 896,
        *,
        scale_range: tuple[float, float] = (0.5, 2.0),
        color_jitter: float = 0.25,
        blur_probability: float = 0.5,
        interpolation: int = cv2.INTER_LINEAR,
    ) -> None:
        self.crop = (crop_size, crop_size) if isinstance(crop_size, int) else tuple(crop_size)
        low, high = scale_range
        # Pixels beyond the scaled image are marked by a separate mask filled with 255 on padding,
        # so `valid` cannot be confused with ignore-labelled real pixels.
        self.geometric = A.Compose(
            [
                A.RandomScale(scale_limit=(low - 1.0, high - 1.0), interpolation=interpolation,
                              mask_interpolation=cv2.INTER_NEAREST, p=1.0),
                A.PadIfNeeded(min_height=self.crop[0], min_width=self.crop[1], position="center",
                              border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=IGNORE_INDEX),
            ],
            keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
        )
        self.photometric = A.Compose(
            [
                A.HorizontalFlip(p=0.5),
                A.GaussianBlur(sigma_limit=(0.15, 1.15), p=blur_probability),
                A.ColorJitter(
                    brightness=color_jitter,
                    contrast=color_jitter,
                    saturation=color_jitter,
                    hue=color_jitter,
                    p=1.0 if color_jitter > 0 else 0.0,
                ),
                A.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
            ]
        )

    def __call__(
        self,
        image: np.ndarray,
        label: np.ndarray,
        *,
        center: tuple[float, float] | None = None,
        seed: int | None = None,
    ) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(seed)
        if seed is not None:
            self.geometric.set_random_seed(int(rng.integers(2**31)))
            self.photometric.set_random_seed(int(rng.integers(2**31)))
        padded = np.zeros(label.shape, dtype=np.uint8)
        keypoints = (
            np.array([center], dtype=np.float32)
            if center is not None
            else np.zeros((0, 2), np.float32)
        )
        out = self.geometric(image=image, masks=[label, padded], keypoints=keypoints)
        image, (label, padded) = out["image"], out["masks"]
        scaled_center = tuple(out["keypoints"][0][:2]) if center is not None else None
        top, left = crop_origin(image.shape[0], image.shape[1], self.crop, rng, scaled_center)
        window = (slice(top, top + self.crop[0]), slice(left, left + self.crop[1]))
        out = self.photometric(image=image[window], masks=[label[window], padded[window]])
        return to_tensors(out["image"], out["masks"][0], out["masks"][1])


class EvalTransform:
    """Full image, no augmentation: ImageNet normalisation only, `valid` all ones."""

    def __init__(self) -> None:
        self.normalize = A.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)

    def __call__(
        self, image: np.ndarray, label: np.ndarray, *, center=None, seed=None
    ) -> dict[str, torch.Tensor]:
        padded = np.zeros(label.shape, dtype=np.uint8)
        return to_tensors(self.normalize(image=image)["image"], label, padded)
