"""The contact sheet: every compared image on one PNG, one row each, with a legend of the class
colours."""
import math

import numpy as np

from seg.utils.errors import BadValueError
from seg.utils.labels import CLASS_COLORS, CLASS_NAMES
from seg.visualize.colors import IGNORE_COLOR, colorize
from seg.visualize.layout import (
    BACKGROUND,
    Box,
    draw_text,
    resize,
    text_height,
    text_panel,
)
from seg.visualize.panels import ROW1, draw_tile_grid

LEGEND_COLUMNS = 4


def legend_entries():
    """Return [(class name, RGB)] for the 19 train classes in trainId order, then "ignore"."""
    return list(zip(CLASS_NAMES, CLASS_COLORS)) + [("ignore (not scored)", IGNORE_COLOR)]


def legend_panel(width, *, columns=LEGEND_COLUMNS, scale=0.5):
    """Return a white panel `width` wide listing the class colours in `columns` columns."""
    entries = legend_entries()
    per_column = math.ceil(len(entries) / columns)
    column_width = width // columns
    height = per_column * text_height(scale)
    panel = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    for c in range(columns):
        chunk = [(name, color) for name, color in entries[c * per_column:(c + 1) * per_column]]
        if chunk:
            panel[:, c * column_width : (c + 1) * column_width] = text_panel(
                chunk, column_width, height, scale=scale
            )
    return panel


def contact_sheet(
    items, *, mode="regular", tile=1024, overlap=None, panel_width=256, gap=6, title=None
):
    """Return (canvas uint8 RGB, {(row, column title): Box}) with one row Image | GT | zero |
    partial per item.

    items: dicts with "name", "image" (H, W, 3 uint8), "label", "pred_zero", "pred_partial" (H, W
    trainIds). overlap: the tile overlap of `mode` (None = whole-image inference, no grid drawn).
    """
    if not items:
        raise BadValueError(
            "contact sheet needs at least one image; check --num / --names selected some"
        )
    width = gap + len(ROW1) * (panel_width + gap)
    line = text_height(0.55)
    parts, boxes, y = [], {}, 0

    def add(block):
        nonlocal y
        parts.append(block)
        y += block.shape[0]

    header = np.full((line + line, width, 3), BACKGROUND, dtype=np.uint8)
    draw_text(
        header,
        title or f"zero vs partial padding, {mode} evaluation",
        Box(gap, 0, width - 2 * gap, line),
        scale=0.7,
        thickness=2,
    )
    for i, column in enumerate(ROW1):
        draw_text(header, column, Box(gap + i * (panel_width + gap), line, panel_width, line))
    add(header)
    for row, item in enumerate(items):
        name_bar = np.full((line, width, 3), BACKGROUND, dtype=np.uint8)
        draw_text(
            name_bar, item["name"], Box(gap, 0, width - 2 * gap, line), scale=0.5, align="left"
        )
        add(name_bar)
        pictures = [resize(item["image"], panel_width)] + [
            resize(colorize(item[key]), panel_width, nearest=True)
            for key in ("label", "pred_zero", "pred_partial")
        ]
        if overlap is not None:
            pictures = [
                draw_tile_grid(p, item["label"].shape, tile=tile, overlap=overlap) for p in pictures
            ]
        strip = np.full((pictures[0].shape[0] + gap, width, 3), BACKGROUND, dtype=np.uint8)
        for i, (column, picture) in enumerate(zip(ROW1, pictures)):
            box = Box(gap + i * (panel_width + gap), y, picture.shape[1], picture.shape[0])
            strip[:box.h, box.x:box.x + box.w] = picture
            boxes[(row, column)] = box
        add(strip)
    legend_title = np.full((line, width, 3), BACKGROUND, dtype=np.uint8)
    draw_text(
        legend_title,
        "Class colours (cityscapesscripts)",
        Box(gap, 0, width - 2 * gap, line),
        scale=0.55,
    )
    add(legend_title)
    legend = np.pad(
        legend_panel(width - 2 * gap), ((0, gap), (gap, gap), (0, 0)), constant_values=255
    )
    boxes[("legend", "")] = Box(gap, y, width - 2 * gap, legend.shape[0] - gap)
    add(legend)
    return np.concatenate(parts), boxes
