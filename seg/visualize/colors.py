"""Pixel colours of the figures: Cityscapes class colours (from cityscapesscripts), error colours,
images.

The class colours are read from cityscapesscripts' label table, so the figures match the
official *_gtFine_color.png files; there is no hand-written copy.
"""
import numpy as np
import torch

from seg.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from seg.utils.labels import CLASS_COLORS, IGNORE_INDEX, NUM_CLASSES

# cityscapesscripts' "unlabeled" colour, so ignored pixels look like gtFine_color
IGNORE_COLOR = (0, 0, 0)

# Error view: which model gets a pixel wrong. Orange/blue stay distinct for red-green colour
# blindness.
ERROR_COLORS = {"zero only": (255, 140, 0), "partial only": (0, 150, 255), "both": (220, 0, 0)}
WRONG_COLOR = (255, 0, 0)


def palette(num_classes=NUM_CLASSES):
    """Return a uint8 (256, 3) lookup table trainId -> RGB; 255 (ignore) and unused ids are
    black."""
    table = np.zeros((256, 3), dtype=np.uint8)
    table[:] = IGNORE_COLOR
    table[:num_classes] = CLASS_COLORS[:num_classes]
    return table


def _numpy(array):
    return array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)


def colorize(train_ids, table=None):
    """Return the (H, W, 3) uint8 RGB image of a trainId map (H, W)."""
    train_ids = _numpy(train_ids)
    if train_ids.ndim != 2:
        raise ValueError(f"expected a (H, W) trainId map, got shape {train_ids.shape}")
    if train_ids.min() < 0 or train_ids.max() > 255:
        raise ValueError(f"trainIds must lie in 0..255, got {train_ids.min()}..{train_ids.max()}")
    return (palette() if table is None else table)[train_ids.astype(np.uint8)]


def image_to_rgb(image):
    """Return the (H, W, 3) uint8 RGB picture of an ImageNet-normalised (3, H, W) image tensor."""
    image = _numpy(image).astype(np.float32)
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected a (3, H, W) normalised image, got shape {image.shape}")
    rgb = (
        image * np.array(IMAGENET_STD, np.float32)[:, None, None]
        + np.array(IMAGENET_MEAN, np.float32)[:, None, None]
    )
    return np.clip(np.rint(rgb.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)


def dimmed(rgb, factor=0.35):
    """Return a grey, darkened copy of an RGB image, a quiet background for error pixels."""
    grey = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat((grey * factor).astype(np.uint8)[..., None], 3, axis=2)


def wrong_pixels(pred, label):
    """Return a bool (H, W) map: True where the label is a class (not ignore) and pred differs from
    it."""
    pred, label = _numpy(pred), _numpy(label)
    return (label != IGNORE_INDEX) & (pred != label)


def error_view(rgb, pred, label):
    """Return the image dimmed to grey with the pixels `pred` gets wrong in red."""
    out = dimmed(rgb)
    out[wrong_pixels(pred, label)] = WRONG_COLOR
    return out


def error_difference_view(rgb, pred_zero, pred_partial, label):
    """Return the image dimmed to grey with pixels wrong for zero only, partial only or both in
    ERROR_COLORS."""
    out = dimmed(rgb)
    zero, partial = wrong_pixels(pred_zero, label), wrong_pixels(pred_partial, label)
    out[zero & ~partial] = ERROR_COLORS["zero only"]
    out[partial & ~zero] = ERROR_COLORS["partial only"]
    out[zero & partial] = ERROR_COLORS["both"]
    return out
