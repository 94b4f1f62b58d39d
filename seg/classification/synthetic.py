"""A small synthetic ImageFolder whose classes differ by shape and texture, with objects cut by the
border.

Each class is a (shape, texture) pair: a disc, square or triangle filled with stripes, a
checkerboard or dots in a light and a dark tone of a random tint, on a noisy background of a random
colour. Every object's centre lies within one radius of a randomly chosen image side, so the object
always touches the border and is often cut by it: the region where zero and partial padding differ
is the region that decides the class. Tints, sizes, positions, stripe angles and periods are random
per image, so colour and place are no cue. Everything is drawn from numpy generators seeded by
(seed, split, class, index): the same seed writes byte-identical files.
"""
from __future__ import annotations

import pathlib

import numpy as np
from PIL import Image

from seg.utils.errors import BadValueError

# (shape, texture). The first three differ in both, so either cue names the class (the CPU recipe,
# learnable in a few minutes); each later class reuses a shape and a texture of earlier ones, so
# from the fourth on only their combination does.
CLASS_NAMES = (
    "disc_stripes",
    "square_checker",
    "triangle_dots",
    "square_stripes",
    "disc_dots",
    "triangle_checker",
    "disc_checker",
    "square_dots",
    "triangle_stripes",
)
SPLITS = ("train", "val")


def shape_mask(shape: str, dy: np.ndarray, dx: np.ndarray, radius: float) -> np.ndarray:
    """Returns the boolean mask of `shape` of size `radius` at offsets (dy, dx) from its centre."""
    if shape == "disc":
        return dy ** 2 + dx ** 2 <= radius ** 2
    if shape == "square":
        return np.maximum(np.abs(dy), np.abs(dx)) <= radius * 0.85  # about the disc's area
    if shape == "triangle":  # apex up, base at +radius
        return (dy <= radius) & (np.abs(dx) <= (dy + radius) * 0.6)
    raise BadValueError(f"unknown shape {shape!r}; use disc, square or triangle")


def texture(kind: str, y: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Returns a 0/1 float pattern of texture `kind` over pixel coordinates (y, x)."""
    period = rng.uniform(4.0, 7.0)
    if kind == "stripes":
        angle = rng.uniform(0, np.pi)
        u = y * np.cos(angle) + x * np.sin(angle)
        return (np.floor(u / (period / 2)) % 2).astype(np.float32)
    if kind == "checker":
        phase = rng.uniform(0, period, size=2)
        cells = np.floor((y + phase[0]) / (period / 2)) + np.floor((x + phase[1]) / (period / 2))
        return (cells % 2).astype(np.float32)
    if kind == "dots":
        phase = rng.uniform(0, period, size=2)
        cy = (y + phase[0]) % period - period / 2
        cx = (x + phase[1]) % period - period / 2
        return (cy**2 + cx**2 <= (period / 3.5) ** 2).astype(np.float32)
    raise BadValueError(f"unknown texture {kind!r}; use stripes, checker or dots")


def render_image(
    class_name: str, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (image (size, size, 3) uint8, object mask (size, size) bool) of one `class_name`
    object at the border."""
    shape, kind = class_name.split("_")
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    radius = rng.uniform(0.28, 0.45) * size
    # centre inside the image but within one radius of a random side: the object touches that side
    side = rng.integers(4)
    along, depth = rng.uniform(0, size), rng.uniform(0, radius * 0.8)
    cy, cx = [(depth, along), (size - 1 - depth, along), (along, depth), (along, size - 1 - depth)][
        side
    ]
    mask = shape_mask(shape, y - cy, x - cx, radius)
    # a light and a dark tone of one random tint: the texture always shows, and colour is no cue
    tint = rng.uniform(0.6, 1.0, size=3)
    fg_a, fg_b, bg = 235.0 * tint, 20.0 * tint, rng.uniform(40, 215, size=3)
    pattern = texture(kind, y, x, rng)[..., None]
    foreground = fg_a * pattern + fg_b * (1 - pattern)
    # plain noise: no texture outside the object
    background = bg + rng.normal(0, 25, size=(size, size, 3))
    image = np.where(mask[..., None], foreground, background) + rng.normal(
        0, 8, size=(size, size, 3)
    )
    return np.clip(image, 0, 255).astype(np.uint8), mask


def make_synthetic_imagefolder(
    out,
    *,
    classes: int = 3,
    train_per_class: int = 60,
    val_per_class: int = 20,
    size: int = 36,
    seed: int = 0,
) -> pathlib.Path:
    """Returns `out` after writing out/{train,val}/<class>/<index>.png (the ImageNet folder
    layout)."""
    if not 2 <= classes <= len(CLASS_NAMES):
        raise BadValueError(
            f"classes={classes}: choose 2 to {len(CLASS_NAMES)} (one per (shape, texture) pair)"
        )
    if size < 16:
        raise BadValueError(f"size={size}: textures need at least 16 pixels; use --size 16 or more")
    out = pathlib.Path(out)
    counts = {"train": train_per_class, "val": val_per_class}
    for split_index, split in enumerate(SPLITS):
        for label, name in enumerate(CLASS_NAMES[:classes]):
            folder = out / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(counts[split]):
                rng = np.random.default_rng([seed, split_index, label, i])
                Image.fromarray(render_image(name, size, rng)[0]).save(folder / f"{i:05d}.png")
    return out
