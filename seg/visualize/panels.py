"""One comparison figure per image in the paper's layout (figures 6 and 8), plus error views and a
border zoom.

Rows:
  1. Image | Ground truth | zero padding | partial padding   (the paper's layout; tile grid drawn in
  tiled modes)
  2. Scores | Errors: zero vs partial | zero padding errors | partial padding errors
  3. the same four panels of row 1, zoomed on the crop at an image border where the models disagree
  most.
"""
import cv2
import numpy as np
import torch

from seg.evaluation.tiling import MODE_OVERLAP, tile_boxes
from seg.utils.labels import IGNORE_INDEX
from seg.visualize.colors import (
    ERROR_COLORS,
    colorize,
    error_difference_view,
    error_view,
    wrong_pixels,
)
from seg.visualize.layout import compose, resize, text_panel
from seg.visualize.picking import near_border_mask

ROW1 = ("Image", "Ground truth", "zero padding", "partial padding")
ROW2 = ("Scores", "Errors: zero vs partial", "zero padding errors", "partial padding errors")
ROW3 = tuple(f"Zoom: {title}" for title in ROW1)
SIDES = ("left", "top", "right", "bottom")
GRID_COLOR = (255, 255, 255)
ZOOM_COLOR = (0, 255, 255)


def _numpy(array):
    return array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)


def draw_tile_grid(rgb, image_size, *, tile, overlap):
    """Return a copy of a displayed panel with the outline of every inference tile drawn on it.

    image_size: (H, W) of the image the tiles were cut from; the panel may be a resized view of it.
    """
    out = rgb.copy()
    sy, sx = rgb.shape[0] / image_size[0], rgb.shape[1] / image_size[1]
    for top, left, h, w in tile_boxes(image_size[0], image_size[1], tile, overlap):
        p0 = (round(left * sx), round(top * sy))
        p1 = (
            min(rgb.shape[1] - 1, round((left + w) * sx) - 1),
            min(rgb.shape[0] - 1, round((top + h) * sy) - 1),
        )
        cv2.rectangle(out, p0, p1, GRID_COLOR, 2)
    return out


def border_zoom_box(pred_zero, pred_partial, size):
    """Return (border, top, left) of the crop of `size` (h, w) touching an image border with most
    disagreement.

    Crops slide along each border with a stride of half their extent; ties go to the first border in
    SIDES order and then the smallest offset, so the choice is deterministic.
    """
    differ = (_numpy(pred_zero) != _numpy(pred_partial)).astype(np.int64)
    height, width = differ.shape
    crop_h, crop_w = min(size[0], height), min(size[1], width)
    integral = np.pad(differ.cumsum(0).cumsum(1), ((1, 0), (1, 0)))

    def count(top, left):
        return (integral[top + crop_h, left + crop_w] - integral[top, left + crop_w]
                - integral[top + crop_h, left] + integral[top, left])

    def offsets(length, crop):
        return sorted(set(range(0, length - crop, max(1, crop // 2))) | {length - crop})

    candidates = (
        [("left", t, 0) for t in offsets(height, crop_h)]
        + [("top", 0, l) for l in offsets(width, crop_w)]
        + [("right", t, width - crop_w) for t in offsets(height, crop_h)]
        + [("bottom", height - crop_h, l) for l in offsets(width, crop_w)]
    )
    return max(candidates, key=lambda c: (count(c[1], c[2]), -SIDES.index(c[0]), -c[1] - c[2]))


def _percent(wrong, where):
    total = int(where.sum())
    return "-" if total == 0 else f"{100.0 * int((wrong & where).sum()) / total:.1f}%"


def scores_lines(label, pred_zero, pred_partial, near_border, *, band, mode, zoom_text):
    """Return the text of the scores panel: per-model error rates overall and near borders, colour
    key, zoom place."""
    label = _numpy(label)
    labelled = label != IGNORE_INDEX
    zero, partial = wrong_pixels(pred_zero, label), wrong_pixels(pred_partial, label)
    near = labelled & _numpy(near_border)
    border_kind = "image border" if MODE_OVERLAP[mode] is None else "image/tile border"
    return [
        "Pixels wrong (of labelled)",
        f"  all: zero {_percent(zero, labelled)}, partial {_percent(partial, labelled)}",
        f"  <{band}px from {border_kind}:",
        f"    zero {_percent(zero, near)}, partial {_percent(partial, near)}",
        ("wrong for zero only", ERROR_COLORS["zero only"]),
        ("wrong for partial only", ERROR_COLORS["partial only"]),
        ("wrong for both", ERROR_COLORS["both"]),
        zoom_text,
    ]


def comparison_figure(
    image_rgb,
    label,
    pred_zero,
    pred_partial,
    *,
    name="",
    mode="regular",
    tile=1024,
    panel_width=512,
    band=64,
    zoom=4,
):
    """Return (canvas uint8 RGB, {panel title: Box}) of one image's comparison figure.

    image_rgb: (H, W, 3) uint8; label, pred_zero, pred_partial: (H, W) trainIds (label 255 =
    ignore). zoom: magnification of row 3, which shows a 1/zoom x 1/zoom crop of the image at a
    border.
    """
    label, pred_zero, pred_partial = _numpy(label), _numpy(pred_zero), _numpy(pred_partial)
    height, width = label.shape
    if (
        image_rgb.shape[:2] != (height, width)
        or pred_zero.shape != label.shape
        or pred_partial.shape != label.shape
    ):
        raise ValueError(
            f"{name}: image {image_rgb.shape[:2]}, label {label.shape} and predictions "
            f"{pred_zero.shape}, {pred_partial.shape} must have the same size"
        )
    crop_h, crop_w = max(1, height // zoom), max(1, width // zoom)
    where = border_zoom_box(pred_zero, pred_partial, (crop_h, crop_w))
    near = near_border_mask(height, width, mode=mode, tile=tile, band=band)

    full = [image_rgb, colorize(label), colorize(pred_zero), colorize(pred_partial)]
    nearest = [False, True, True, True]
    row1 = [resize(img, panel_width, nearest=n) for img, n in zip(full, nearest)]
    overlap = MODE_OVERLAP[mode]
    if overlap is not None:
        row1 = [draw_tile_grid(p, (height, width), tile=tile, overlap=overlap) for p in row1]
    scale = panel_width / width
    _, top, left = where
    row1[0] = row1[0].copy()
    cv2.rectangle(
        row1[0],
        (round(left * scale), round(top * scale)),
        (round((left + crop_w) * scale) - 1, round((top + crop_h) * scale) - 1),
        ZOOM_COLOR,
        2,
    )

    panel_height = row1[0].shape[0]
    row2 = [
        text_panel(
            scores_lines(
                label,
                pred_zero,
                pred_partial,
                near,
                band=band,
                mode=mode,
                zoom_text=f"Zoom x{zoom}: {where[0]} border, y {top}, x {left}",
            ),
            panel_width,
            panel_height,
        ),
        resize(
            error_difference_view(image_rgb, pred_zero, pred_partial, label),
            panel_width,
            nearest=True,
        ),
        resize(error_view(image_rgb, pred_zero, label), panel_width, nearest=True),
        resize(error_view(image_rgb, pred_partial, label), panel_width, nearest=True),
    ]
    # Nearest neighbour keeps single pixels visible as blocks when zoomed.
    row3 = [
        resize(
            img[top : top + crop_h, left : left + crop_w], panel_width, panel_height, nearest=True
        )
        for img in full
    ]
    header = f"{name}  ({mode} evaluation)" if name else f"{mode} evaluation"
    rows = [list(zip(ROW1, row1)), list(zip(ROW2, row2)), list(zip(ROW3, row3))]
    return compose(rows, panel_width=panel_width, header=header)
