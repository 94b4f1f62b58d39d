"""A synthetic Cityscapes: procedural street scenes written in the exact Cityscapes layout and
naming.

Each class has its own colour and texture (windows on buildings, slats on fences, leaf speckle on
vegetation, tiles on sidewalks, a gradient sky, ...), under per-image lighting, per-object colour
variation and pixel noise, so a small network can learn it but not trivially. Same seed, same bytes.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from seg.utils.labels import label_ids_to_color

from .splits import CITIES, NUM_FOLDS, fold_cities
from .synthetic_scene import ID, make_scene

# labelId name -> (RGB base colour, texture, texture amplitude). Colours are chosen to be distinct,
# not the cityscapesscripts display colours (several of those are near-identical dark blues).
APPEARANCE = {
    "unlabeled": ((120, 120, 120), "speckle", 60), "ego vehicle": ((40, 40, 45), "smooth", 10),
    "rectification border": ((0, 0, 0), "smooth", 0), "static": ((180, 150, 200), "speckle", 40),
    "road": ((85, 80, 95), "fine", 14), "sidewalk": ((175, 140, 140), "tiles", 35),
    "building": ((145, 100, 70), "windows", 55), "wall": ((205, 195, 165), "bricks", 30),
    "fence": ((105, 125, 150), "slats", 55), "pole": ((165, 165, 175), "smooth", 8),
    "traffic light": ((45, 60, 30), "smooth", 8), "traffic sign": ((235, 200, 20), "smooth", 8),
    "vegetation": ((55, 130, 40), "speckle", 45), "terrain": ((160, 175, 95), "blotches", 30),
    "sky": ((130, 180, 235), "gradient", 40), "person": ((200, 40, 70), "fine", 12),
    "rider": ((240, 120, 30), "fine", 12), "car": ((30, 50, 165), "fine", 10),
    "truck": ((20, 115, 100), "fine", 10), "bus": ((225, 90, 170), "windows", 40),
    "train": ((110, 40, 140), "slats", 30), "motorcycle": ((25, 25, 25), "fine", 15),
    "bicycle": ((170, 205, 40), "fine", 12),
}
TEXTURES = (
    "smooth",
    "fine",
    "speckle",
    "tiles",
    "windows",
    "bricks",
    "slats",
    "blotches",
    "gradient",
)


def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Return per-labelId base colours (256, 3) and texture amplitudes (len(TEXTURES), 256)."""
    colors = np.zeros((256, 3), np.float32)
    amplitude = np.zeros((len(TEXTURES), 256), np.float32)
    for name, (rgb, texture, amp) in APPEARANCE.items():
        colors[ID[name]] = rgb
        amplitude[TEXTURES.index(texture), ID[name]] = amp
    return colors, amplitude


BASE_COLORS, TEXTURE_AMPLITUDE = _tables()


def _noise(shape: tuple[int, int], cells: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Return smooth noise in [-1, 1] of `shape` with about `cells` random values per axis."""
    small = rng.uniform(-1, 1, (cells[0] + 1, cells[1] + 1)).astype(np.float32)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def texture(label_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the (H, W) texture offsets of a scene: each class's pattern times its amplitude.

    Periods are relative to the width, so scenes look alike at every resolution.
    """
    h, w = label_ids.shape
    x = (np.arange(w, dtype=np.float32) / w)[None, :]
    y = (np.arange(h, dtype=np.float32) / w)[:, None]  # divided by w too: square tiles and windows
    phase = rng.uniform(0, 2 * np.pi, 4).astype(np.float32)
    fine = rng.standard_normal((h, w), dtype=np.float32) * 0.5
    patterns = {  # separable patterns broadcast from one row and one column
        "fine": lambda: fine,
        "speckle": lambda: np.clip(
            fine * 1.6 + _noise((h, w), (h // 6 + 1, w // 6 + 1), rng), -1, 1
        ),
        "tiles": lambda: (
            -1.0 * ((np.sin(x * 120 + phase[0]) > 0.85) | (np.sin(y * 120 + phase[1]) > 0.85))
        ),
        "windows": lambda: (
            -1.0 * ((np.sin(x * 150 + phase[2]) > 0.1) & (np.sin(y * 110 + phase[3]) > 0.2))
        ),
        "bricks": lambda: np.sin(y * 260) > 0.6,
        "slats": lambda: np.sin(x * 220 + phase[0]) > 0.2,
        "blotches": lambda: _noise((h, w), (6, 12), rng),
        "gradient": lambda: y * 4 - 1.0,
    }
    out = np.zeros((h, w), np.float32)
    # every pattern is drawn, so the rng stream never depends on the scene
    for name, pattern in patterns.items():
        out += TEXTURE_AMPLITUDE[TEXTURES.index(name)][label_ids] * pattern()
    return out


def render(label_ids: np.ndarray, tint: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the RGB uint8 photograph of a scene: class colour + texture + tint, lit and noised."""
    h, w = label_ids.shape
    image = BASE_COLORS[label_ids] + tint
    image += texture(label_ids, rng)[..., None]
    # Lighting: a global colour cast and brightness, and a smooth shading field across the frame.
    light = rng.uniform(0.8, 1.2) * (1.0 + 0.25 * _noise((h, w), (2, 4), rng))[..., None]
    image *= light * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    image += rng.standard_normal((h, w, 3), dtype=np.float32) * rng.uniform(3, 10)
    return np.clip(image, 0, 255).astype(np.uint8)


def coarsen(label_ids: np.ndarray) -> np.ndarray:
    """Return a gtCoarse-like map: class boundaries and thin objects become unlabeled (0)."""
    size = max(3, label_ids.shape[1] // 48) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    boundary = cv2.dilate(label_ids, kernel) != cv2.erode(label_ids, kernel)
    coarse = label_ids.copy()
    coarse[boundary] = 0
    return coarse


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), array, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise OSError(f"could not write {path}")


def write_frame(
    out: Path, split: str, city: str, seq: int, size: tuple[int, int], rng: np.random.Generator
) -> str:
    """Write one frame (image and its gtFine or gtCoarse files); return the image path relative to
    `out`."""
    scene = make_scene(size[0], size[1], rng)
    stem = f"{city}_{seq:06d}_000019"
    image = render(scene.label, scene.tint, rng)
    name = f"leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png"
    _write(out / name, image)
    if split == "train_extra":
        coarse = coarsen(scene.label)
        folder = out / "gtCoarse" / split / city
        _write(folder / f"{stem}_gtCoarse_labelIds.png", coarse)
        _write(folder / f"{stem}_gtCoarse_color.png", label_ids_to_color(coarse))
        return name
    label, instance = scene.label, scene.instance
    if split == "test":  # as in the real release: test labels are withheld (all unlabeled)
        label, instance = np.zeros_like(label), np.zeros_like(instance)
    folder = out / "gtFine" / split / city
    _write(folder / f"{stem}_gtFine_labelIds.png", label)
    _write(folder / f"{stem}_gtFine_instanceIds.png", instance)
    _write(folder / f"{stem}_gtFine_color.png", label_ids_to_color(label))
    return name


def _deal_order(split: str) -> tuple[str, ...]:
    """Return the cities of `split` in the order images are dealt to them."""
    if split != "train":
        return CITIES[split]
    fold_val = [
        city for pair in zip(*(fold_cities(k)["val"] for k in range(1, NUM_FOLDS))) for city in pair
    ]
    return tuple(fold_val) + tuple(city for city in CITIES["train"] if city not in fold_val)


def make_synthetic(
    out: str | Path,
    *,
    train: int,
    val: int,
    extra: int,
    size: tuple[int, int] = (1024, 2048),
    seed: int = 0,
    test: int = 0,
) -> list[str]:
    """Write a synthetic Cityscapes tree under `out`; return the written image paths relative to
    `out`.

    Images are dealt round-robin over each split's real city names, the train cities that folds 1
    and 2 validate on first, so even a small set gives every fold training and validation images.
    """
    out = Path(out)
    names = []
    for code, (split, count) in enumerate(
        (("train", train), ("val", val), ("test", test), ("train_extra", extra))
    ):
        cities = _deal_order(split)
        for index in range(count):
            # per frame: any subset regenerates identically
            rng = np.random.default_rng([seed, code, index])
            names.append(
                write_frame(
                    out, split, cities[index % len(cities)], index // len(cities), size, rng
                )
            )
    return names
