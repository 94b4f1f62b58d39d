"""Zero vs partial padding on an image without ground truth: predictions, where they differ, zoom.

Rows (the layout of the labelled comparison figure, without the panels that need labels):
  1. Image | zero padding | partial padding | Where they differ
  2. the same four panels zoomed on the crop at an image border where the models disagree most.
"""
import cv2
import numpy as np
import torch

from seg.visualize.colors import colorize, dimmed
from seg.visualize.layout import compose, resize
from seg.visualize.panels import ZOOM_COLOR, border_zoom_box

DIFFER_COLOR = (255, 0, 255)  # pixels whose class differs between the two models
ROW1 = ("Image", "zero padding", "partial padding", "Where they differ")


def overlay(rgb: np.ndarray, train_ids, alpha: float = 0.5) -> np.ndarray:
    """Returns the image blended with the class colours of train_ids (cityscapesscripts)."""
    colours = colorize(train_ids).astype(np.float32)
    return np.rint((1 - alpha) * rgb.astype(np.float32) + alpha * colours).astype(np.uint8)


def difference_view(rgb: np.ndarray, pred_zero, pred_partial) -> np.ndarray:
    """Returns the image dimmed to grey with the pixels where the predictions differ coloured."""
    out = dimmed(rgb)
    out[_numpy(pred_zero) != _numpy(pred_partial)] = DIFFER_COLOR
    return out


def pair_figure(image_rgb: np.ndarray, pred_zero, pred_partial, *, name: str = "",
                panel_width: int = 512, zoom: int = 4):
    """Returns (canvas uint8 RGB, {panel title: Box}) comparing two trainId maps (H, W)."""
    pred_zero, pred_partial = _numpy(pred_zero), _numpy(pred_partial)
    height, width = pred_zero.shape
    if image_rgb.shape[:2] != (height, width) or pred_partial.shape != pred_zero.shape:
        raise ValueError(f"{name}: image {image_rgb.shape[:2]} and predictions {pred_zero.shape}, "
                         f"{pred_partial.shape} must have the same size")
    crop_h, crop_w = max(1, height // zoom), max(1, width // zoom)
    side, top, left = border_zoom_box(pred_zero, pred_partial, (crop_h, crop_w))
    full = [image_rgb, colorize(pred_zero), colorize(pred_partial),
            difference_view(image_rgb, pred_zero, pred_partial)]
    row1 = [resize(img, panel_width, nearest=i > 0) for i, img in enumerate(full)]
    scale = panel_width / width
    row1[0] = row1[0].copy()  # resize returns the image itself when it already fits
    cv2.rectangle(row1[0], (round(left * scale), round(top * scale)),
                  (round((left + crop_w) * scale) - 1, round((top + crop_h) * scale) - 1),
                  ZOOM_COLOR, 2)
    row2 = [resize(img[top:top + crop_h, left:left + crop_w], panel_width, row1[0].shape[0],
                   nearest=True) for img in full]
    differ = 100.0 * float((pred_zero != pred_partial).mean())
    header = f"{name}  ({differ:.1f}% of pixels differ; zoom x{zoom}: {side} border)"
    rows = [list(zip(ROW1, row1)), [(f"Zoom: {title}", img) for title, img in zip(ROW1, row2)]]
    return compose(rows, panel_width=panel_width, header=header.strip())


def _numpy(array):
    return array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
