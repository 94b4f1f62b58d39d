"""Class-uniform sampling: a fraction of crops are centred on a pixel of a class drawn uniformly.

Per-image class locations are computed once (with a progress bar) and cached in a JSON file whose
name is a hash of the label file list, sizes and modification times, so a changed dataset gets a
new cache instead of a stale one.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset
from tqdm import tqdm

from seg.utils.errors import BadValueError
from seg.utils.labels import NUM_CLASSES

from .cityscapes import CityscapesSegmentation, Sample, load_sample

CACHE_VERSION = 1


def cache_key(samples: list[Sample], points_per_class: int) -> str:
    """Return a hex digest identifying the file list (names, label paths, sizes, mtimes) and
    settings."""
    digest = hashlib.sha256(f"v{CACHE_VERSION} points={points_per_class}".encode())
    for sample in samples:
        for path in (sample.image, sample.label):
            stat = path.stat() if path is not None else None
            size, mtime = (stat.st_size, stat.st_mtime_ns) if stat else (-1, -1)
            digest.update(f"|{path}:{size}:{mtime}".encode())
    return digest.hexdigest()[:20]


def default_cache_dir(root: Path) -> Path:
    """Return <root>/.cache when writable (cache next to the data), else
    ~/.cache/partial-padding-seg."""
    if os.access(root, os.W_OK):
        return root / ".cache"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "partial-padding-seg"


def image_class_points(
    label: np.ndarray, rng: np.random.Generator, points_per_class: int
) -> dict[int, list]:
    """Return {trainId: [[x, y], ...]} with up to `points_per_class` random pixels of each present
    class."""
    points = {}
    flat = label.ravel()
    # bincount: far faster than np.unique here
    counts = np.bincount(flat, minlength=256)[:NUM_CLASSES]
    for train_id in np.flatnonzero(counts):
        indices = np.flatnonzero(flat == train_id)
        chosen = rng.choice(indices, size=min(points_per_class, indices.size), replace=False)
        ys, xs = np.divmod(chosen, label.shape[1])
        points[int(train_id)] = [[int(x), int(y)] for x, y in zip(xs, ys)]
    return points


def class_locations(
    samples: list[Sample],
    cache_dir: str | Path,
    *,
    points_per_class: int = 8,
    progress: bool = True,
) -> list[dict[int, list]]:
    """Return, per sample, {trainId: pixel [x, y] list}; read from the JSON cache or computed and
    cached."""
    cache_file = Path(cache_dir) / f"class_uniform_{cache_key(samples, points_per_class)}.json"
    if cache_file.is_file():
        try:
            with open(cache_file) as f:
                stored = json.load(f)
            return [{int(k): v for k, v in image.items()} for image in stored["locations"]]
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
        ) as err:  # a cache: rebuild it, losing nothing
            print(
                f"{cache_file} is unreadable ({type(err).__name__}); computing the class "
                "locations again"
            )
    rng = np.random.default_rng(0)  # fixed: the cache content depends on the data only
    locations = []
    for sample in tqdm(samples, desc="class-uniform locations", disable=not progress):
        locations.append(image_class_points(load_sample(sample)[1], rng, points_per_class))
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    # atomic: parallel ranks may write at once
    temporary = cache_file.with_suffix(f".tmp{os.getpid()}")
    with open(temporary, "w") as f:
        json.dump({"names": [s.name for s in samples], "locations": locations}, f)
    temporary.replace(cache_file)
    return locations


class ClassUniformDataset(Dataset):
    """Training view of a CityscapesSegmentation: `fraction` of items are class-uniform crops.

    Item i depends only on (seed, epoch, i), never on the worker that loads it; call
    `set_epoch(epoch)` before each epoch to get new augmentations.
    """

    def __init__(
        self,
        base: CityscapesSegmentation,
        *,
        fraction: float = 0.5,
        seed: int = 0,
        cache_dir: str | Path | None = None,
        points_per_class: int = 8,
        progress: bool = True,
    ) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise BadValueError(f"class-uniform fraction must be in [0, 1], got {fraction}")
        self.base = base
        self.fraction = fraction
        self.seed = seed
        self.epoch = 0
        self.images_of_class: dict[int, list[int]] = {}
        self.locations: list[dict[int, list]] = []
        if fraction > 0:
            cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir(base.root)
            self.locations = class_locations(
                base.samples, cache_dir, points_per_class=points_per_class, progress=progress
            )
            for index, points in enumerate(self.locations):
                for train_id in points:
                    self.images_of_class.setdefault(train_id, []).append(index)
        self.classes = sorted(self.images_of_class)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.base)

    def draw(self, index: int) -> tuple[int, tuple[int, int] | None, int]:
        """Return (image index, crop centre (x, y) or None, transform seed) of item `index`."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.classes and rng.random() < self.fraction:
            train_id = self.classes[rng.integers(len(self.classes))]
            image_index = self.images_of_class[train_id][
                rng.integers(len(self.images_of_class[train_id]))
            ]
            points = self.locations[image_index][train_id]
            return image_index, tuple(points[rng.integers(len(points))]), int(rng.integers(2**31))
        return index, None, int(rng.integers(2**31))

    def __getitem__(self, index: int) -> dict:
        image_index, center, seed = self.draw(index)
        image, label, name = self.base.load(image_index)
        item = self.base.transform(image, label, center=center, seed=seed)
        item["name"] = name
        return item
