"""Pixel-exact figure layout: panels of equal width in rows, a title bar over each, text that fits.

Figures are composed as numpy arrays rather than matplotlib axes so every panel lands on known
pixel coordinates (returned as boxes, which the tests check) and images are never resampled twice.
"""
from dataclasses import dataclass

import cv2
import numpy as np

BACKGROUND = (255, 255, 255)
TEXT_COLOR = (0, 0, 0)
FONT = cv2.FONT_HERSHEY_SIMPLEX
MIN_SCALE = 0.4  # below this Hershey text stops being readable


@dataclass(frozen=True)
class Box:
    """Where a panel's pixels sit in the figure: rows y .. y+h, columns x .. x+w."""
    x: int
    y: int
    w: int
    h: int


def resize(rgb, width, height=None, *, nearest=False):
    """Return `rgb` resized to `width` (height keeps the aspect ratio unless given); nearest for
    label maps."""
    if height is None:
        height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    if (height, width) == rgb.shape[:2]:
        return rgb
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(rgb, (width, height), interpolation=interpolation)


def fit_text(text, width, scale=0.6, thickness=1):
    """Return (text, scale): the largest scale <= `scale` at which `text` fits in `width` px,
    shortened if needed."""
    while scale > MIN_SCALE and cv2.getTextSize(text, FONT, scale, thickness)[0][0] > width:
        scale = round(scale - 0.05, 2)
    while len(text) > 1 and cv2.getTextSize(text, FONT, scale, thickness)[0][0] > width:
        text = text[:-4] + "..." if len(text) > 4 else text[:-1]
    return text, scale


def draw_text(canvas, text, box, *, scale=0.6, align="center", color=TEXT_COLOR, thickness=1):
    """Write one line of `text` vertically centred in `box`, shrunk to its width; return the scale
    used."""
    text, scale = fit_text(text, box.w - 4, scale, thickness)
    (tw, th), _ = cv2.getTextSize(text, FONT, scale, thickness)
    x = box.x + (box.w - tw) // 2 if align == "center" else box.x + 2
    y = box.y + (box.h + th) // 2
    cv2.putText(canvas, text, (x, y), FONT, scale, color, thickness, cv2.LINE_AA)
    return scale


def text_height(scale=0.6, thickness=1):
    """Return the pixel height a line of text at `scale` needs, spacing included."""
    (_, th), baseline = cv2.getTextSize("Ag", FONT, scale, thickness)
    return th + baseline + 6


def compose(rows, *, panel_width, gap=8, title_height=28, header=None, header_height=36):
    """Return (canvas uint8 (H, W, 3), {title: Box}) with rows of panels, each with a title bar.

    rows: lists of (title, rgb) pairs; rgb (h, w, 3) uint8 or None for an empty cell. Every panel is
    resized to `panel_width`; a row is as tall as its tallest panel. Titles must be unique.
    """
    columns = max(len(row) for row in rows)
    width = gap + columns * (panel_width + gap)
    sized = [
        [(title, None if rgb is None else resize(rgb, panel_width)) for title, rgb in row]
        for row in rows
    ]
    heights = [max([rgb.shape[0] for _, rgb in row if rgb is not None] or [0]) for row in sized]
    top = header_height if header else 0
    height = top + sum(title_height + h + gap for h in heights)
    canvas = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    if header:
        draw_text(
            canvas, header, Box(gap, 0, width - 2 * gap, header_height), scale=0.75, thickness=2
        )
    boxes, y = {}, top
    for row, row_height in zip(sized, heights):
        for column, (title, rgb) in enumerate(row):
            if rgb is None:
                continue
            if title in boxes:
                raise ValueError(
                    f"panel title {title!r} is used twice; titles name the panels in the layout"
                )
            x = gap + column * (panel_width + gap)
            draw_text(canvas, title, Box(x, y, panel_width, title_height))
            box = Box(x, y + title_height, rgb.shape[1], rgb.shape[0])
            canvas[box.y:box.y + box.h, box.x:box.x + box.w] = rgb
            boxes[title] = box
        y += title_height + row_height + gap
    return canvas, boxes


def save_png(path, rgb):
    """Write an RGB uint8 array as a PNG; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1])):
        raise OSError(f"could not write {path}; check the folder is writable")
    return path


def text_panel(lines, width, height, *, scale=0.6):
    """Return a white (height, width, 3) panel with one line per entry, left aligned.

    lines: str, or (str, rgb) to draw a colour swatch before the text (a legend entry).
    The scale shrinks until all lines fit the height; long lines are shortened to the width.
    """
    panel = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    while scale > MIN_SCALE and text_height(scale) * len(lines) > height:
        scale = round(scale - 0.05, 2)
    step = text_height(scale)
    for i, line in enumerate(lines):
        text, swatch = (line, None) if isinstance(line, str) else line
        x = 4
        if swatch is not None:
            side = step - 8
            cv2.rectangle(
                panel,
                (x, i * step + 4),
                (x + side, i * step + 4 + side),
                tuple(int(c) for c in swatch),
                -1,
            )
            cv2.rectangle(
                panel, (x, i * step + 4), (x + side, i * step + 4 + side), (90, 90, 90), 1
            )
            x += side + 6
        draw_text(panel, text, Box(x, i * step, width - x - 2, step), scale=scale, align="left")
    return panel
