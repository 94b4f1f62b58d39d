"""Training and evaluation pipelines: uint8 image + trainId label -> tensors with `valid`.

Training follows the authors' order (NVIDIA semantic-segmentation, datasets/__init__.py): random
scale (image bicubic, label nearest), pad to the crop (image 0, label 255), random crop (around
the class-uniform centroid when there is one), horizontal flip, colour jitter, then Gaussian blur
of every crop with sigma = 0.15 + U(0, 1) * 1.15, then ImageNet normalisation.
"""

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
BLUR_SIGMA = (0.15, 0.15 + 1.15)  # the authors' RandomGaussianBlur: 0.15 + U(0, 1) * 1.15
_PADDED = 255  # value of the padding-tracking mask on padded pixels; real pixels are 0


def to_tensors(image: np.ndarray, label: np.ndarray, padded: np.ndarray) -> dict[str, torch.Tensor]:
    """Return {"image" float32 (3,H,W), "label" int64 (H,W), "valid" float32 (1,H,W)}."""
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
    center: tuple[int, int] | None,
    *,
    past_border: bool = False,
) -> tuple[int, int]:
    """Return (top, left) of a crop inside the image: uniform, or uniform among those with `center`.

    With a centroid (x, y) the crop is placed at random among the windows that contain it, then
    kept inside the image (which still contains it: the image is at least the crop). The
    authors' range starts one pixel lower (x - crop), a window that misses the centroid.
    past_border=True skips that last step: near the border the window runs past it (top or left
    may be negative, or the window may end beyond the image), every window holding the centroid
    equally likely. Both draw the same random numbers.
    """
    crop_h, crop_w = crop
    if center is None:
        return int(rng.integers(0, height - crop_h + 1)), int(rng.integers(0, width - crop_w + 1))
    x, y = center
    top = int(rng.integers(y - crop_h + 1, y + 1))
    left = int(rng.integers(x - crop_w + 1, x + 1))
    if past_border:
        return top, left
    return int(np.clip(top, 0, height - crop_h)), int(np.clip(left, 0, width - crop_w))


def cut_window(arrays, fills, top: int, left: int, crop: tuple[int, int]):
    """Return each array's crop_h x crop_w window at (top, left); what lies outside the array is
    filled with the matching value of `fills` (the window may run past any side)."""
    height, width = arrays[0].shape[:2]
    border = (
        max(-top, 0),
        max(top + crop[0] - height, 0),
        max(-left, 0),
        max(left + crop[1] - width, 0),
    )
    if any(border):
        arrays = [
            cv2.copyMakeBorder(a, *border, cv2.BORDER_CONSTANT, value=fill)
            for a, fill in zip(arrays, fills)
        ]
        top, left = top + border[0], left + border[2]
    return [a[top : top + crop[0], left : left + crop[1]] for a in arrays]


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Return the uint8 image blurred by an isotropic Gaussian truncated at 4 sigma (as skimage)."""
    radius = int(4.0 * sigma + 0.5)
    return cv2.GaussianBlur(
        image,
        (2 * radius + 1, 2 * radius + 1),
        sigmaX=sigma,
        sigmaY=sigma,
        borderType=cv2.BORDER_REPLICATE,
    )


def pad_to(image: np.ndarray, label: np.ndarray, crop: tuple[int, int]):
    """Return (image, label, padded mask, (dx, dy)) padded on both sides up to the crop size.

    The image gets 0, the label 255 (ignored) and the mask 255 on the added pixels, so `valid`
    cannot be confused with ignore-labelled real pixels; (dx, dy) is the shift of the content.
    """
    height, width = label.shape
    pad_h, pad_w = max(crop[0] - height, 0), max(crop[1] - width, 0)
    padded = np.zeros(label.shape, np.uint8)
    if not (pad_h or pad_w):
        return image, label, padded, (0, 0)
    top, left = pad_h // 2, pad_w // 2
    border = (top, pad_h - top, left, pad_w - left)
    image = cv2.copyMakeBorder(image, *border, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    label = cv2.copyMakeBorder(label, *border, cv2.BORDER_CONSTANT, value=IGNORE_INDEX)
    padded = cv2.copyMakeBorder(padded, *border, cv2.BORDER_CONSTANT, value=_PADDED)
    return image, label, padded, (left, top)


class TrainTransform:
    """Random scale, pad, crop (around `center` if given), flip, colour jitter, blur, normalise.

    `center` (x, y) in input pixels is a class-uniform centroid, kept inside the crop; `seed` makes
    one call reproducible whatever worker runs it. blur=False leaves the Gaussian blur out;
    crop_past_border=True lets a crop around a centroid run past the image border (the outside
    padded as by pad_to: image 0, label 255, `valid` 0).
    """

    def __init__(
        self,
        crop_size: int | tuple[int, int] = 896,
        *,
        scale_range: tuple[float, float] = (0.5, 2.0),
        color_jitter: float = 0.25,
        blur: bool = True,
        crop_past_border: bool = False,
    ) -> None:
        self.crop = (crop_size, crop_size) if isinstance(crop_size, int) else tuple(crop_size)
        self.scale_range = scale_range
        self.blur = blur
        self.crop_past_border = crop_past_border
        # Random order of brightness, contrast, saturation and hue, as the authors' ColorJitter.
        self.jitter = (
            A.Compose(
                [
                    A.ColorJitter(
                        brightness=color_jitter,
                        contrast=color_jitter,
                        saturation=color_jitter,
                        hue=color_jitter,
                        p=1.0,
                    )
                ]
            )
            if color_jitter > 0
            else None
        )
        self.normalize = A.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)

    def geometry(self, image, label, center, rng):
        """Return (image, label, padded mask) of the scaled, padded, cropped and flipped crop."""
        scale = rng.uniform(*self.scale_range)
        height, width = label.shape
        size = (int(width * scale), int(height * scale))  # truncated, as the authors'
        image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
        label = cv2.resize(label, size, interpolation=cv2.INTER_NEAREST)
        image, label, padded, (dx, dy) = pad_to(image, label, self.crop)
        if center is not None:
            center = (int(center[0] * scale) + dx, int(center[1] * scale) + dy)
        top, left = crop_origin(
            label.shape[0], label.shape[1], self.crop, rng, center,
            past_border=self.crop_past_border,
        )
        image, label, padded = cut_window(
            [image, label, padded], [(0, 0, 0), IGNORE_INDEX, _PADDED], top, left, self.crop
        )
        if rng.random() < 0.5:
            image, label, padded = image[:, ::-1], label[:, ::-1], padded[:, ::-1]
        return np.ascontiguousarray(image), label, padded

    def appearance(self, image: np.ndarray, jitter_seed: int, sigma: float) -> np.ndarray:
        """Return the crop after colour jitter (seeded) and then the Gaussian blur of `sigma`."""
        if self.jitter is not None:
            self.jitter.set_random_seed(jitter_seed)
            image = self.jitter(image=image)["image"]
        return gaussian_blur(image, sigma) if self.blur else image

    def __call__(
        self,
        image: np.ndarray,
        label: np.ndarray,
        *,
        center: tuple[float, float] | None = None,
        seed: int | None = None,
    ) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(seed)
        image, label, padded = self.geometry(image, label, center, rng)
        jitter_seed = int(rng.integers(2**31))
        sigma = BLUR_SIGMA[0] + rng.random() * (BLUR_SIGMA[1] - BLUR_SIGMA[0])
        image = self.appearance(image, jitter_seed, sigma)
        return to_tensors(self.normalize(image=image)["image"], label, padded)


class EvalTransform:
    """Full image, no augmentation: ImageNet normalisation only, `valid` all ones."""

    def __init__(self) -> None:
        self.normalize = A.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)

    def __call__(
        self, image: np.ndarray, label: np.ndarray, *, center=None, seed=None
    ) -> dict[str, torch.Tensor]:
        padded = np.zeros(label.shape, dtype=np.uint8)
        return to_tensors(self.normalize(image=image)["image"], label, padded)
