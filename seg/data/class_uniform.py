"""Class-uniform sampling as Mapillary and NVIDIA train Cityscapes: an epoch led by the fine images.

An epoch has as many crops as there are fine training images. `fraction` of them (0.5) are
class-uniform: an equal share per class, each a crop around a centroid drawn from that class's
list, and the lists hold the centroids of the fine *and* the coarse frames. The rest are random
crops of the fine images, each once per epoch. So coarse frames enter only through class-uniform
picks, never more than `fraction` of an epoch (a plain fine + coarse union would be mostly coarse
on Cityscapes: 2,975 fine and about 20k coarse frames); `coarse_fraction(epoch)` says how many.

A centroid is the centre of mass of one class inside one square tile of the label (1024 px on
Cityscapes), so a class spread over an image has several. Centroids are computed once (with a
progress bar) and cached in a JSON file whose name hashes the label files, their sizes and mtimes
and the tile size, so a changed dataset gets a new cache instead of a stale one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset
from tqdm import tqdm

from seg.utils.errors import BadValueError
from seg.utils.labels import NUM_CLASSES

from .cityscapes import Sample, load_sample

CACHE_VERSION = 2


def cache_key(samples: list[Sample], tile_size: int) -> str:
    """Return a hex digest of the file list (names, label paths, sizes, mtimes) and tile."""
    digest = hashlib.sha256(f"v{CACHE_VERSION} tile={tile_size}".encode())
    for sample in samples:
        for path in (sample.image, sample.label):
            stat = path.stat() if path is not None else None
            digest.update(
                f"|{path}:{stat.st_size if stat else -1}:"
                f"{stat.st_mtime_ns if stat else -1}".encode()
            )
    return digest.hexdigest()[:20]


def default_cache_dir(root: Path) -> Path:
    """Return <root>/.cache when writable (next to the data), else ~/.cache/partial-padding-seg."""
    if os.access(root, os.W_OK):
        return root / ".cache"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "partial-padding-seg"


def tile_centroids(label: np.ndarray, tile_size: int) -> dict[int, list[list[int]]]:
    """Return {trainId: [[x, y], ...]}: the centre of mass of each class in each tile of the label.

    Tiles are tile_size squares from the top-left corner; a remainder narrower than a tile is not
    a tile (as the authors'). An image smaller than a tile is one tile, so small images still
    have centroids. Coordinates are truncated to int, as the authors'.
    """
    height, width = label.shape
    tile_h, tile_w = min(tile_size, height), min(tile_size, width)
    centroids: dict[int, list[list[int]]] = {}
    for top in range(0, height - tile_h + 1, tile_h):
        for left in range(0, width - tile_w + 1, tile_w):
            patch = label[top : top + tile_h, left : left + tile_w]
            counts = np.bincount(patch.ravel(), minlength=256)[:NUM_CLASSES]
            for train_id in np.flatnonzero(counts):
                ys, xs = np.nonzero(patch == train_id)
                centroids.setdefault(int(train_id), []).append(
                    [int(xs.mean()) + left, int(ys.mean()) + top]
                )
    return centroids


def class_centroids(
    samples: list[Sample], cache_dir: str | Path, *, tile_size: int = 1024, progress: bool = True
) -> list[dict[int, list]]:
    """Return, per sample, {trainId: [[x, y], ...]}, from the JSON cache or computed and cached."""
    cache_file = Path(cache_dir) / f"class_uniform_{cache_key(samples, tile_size)}.json"
    if cache_file.is_file():
        try:
            with open(cache_file) as f:
                stored = json.load(f)
            return [{int(k): v for k, v in image.items()} for image in stored["centroids"]]
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
        ) as err:  # a cache: rebuild it, losing nothing
            print(
                f"{cache_file} is unreadable ({type(err).__name__}); computing the class "
                "centroids again"
            )
    centroids = [
        tile_centroids(load_sample(sample)[1], tile_size)
        for sample in tqdm(samples, desc="class-uniform centroids", disable=not progress)
    ]
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache_file.with_suffix(f".tmp{os.getpid()}")  # atomic: ranks may write at once
    with open(temporary, "w") as f:
        json.dump({"names": [s.name for s in samples], "centroids": centroids}, f)
    temporary.replace(cache_file)
    return centroids


def wrapped_sample(rng: np.random.Generator, size: int, count: int) -> np.ndarray:
    """Return `count` indices of range(size): a random permutation, repeated when count > size."""
    return rng.permutation(size)[np.arange(count) % size]


def build_epoch(
    num_fine: int,
    centroids_of_class: dict[int, np.ndarray],
    fraction: float,
    rng: np.random.Generator,
) -> list[tuple[int, tuple[int, int] | None]]:
    """Return the epoch's num_fine crops as (image index, centroid (x, y) or None for random).

    Each class with centroids gets int(num_fine * fraction / NUM_CLASSES) of them (drawn without
    replacement until its list runs out); the random crops fill the epoch, a permutation of the
    fine images. The authors' epoch is shorter when a class has no centroid; ours gives that
    share to random crops, so every epoch has the same length.
    """
    per_class = int(num_fine * fraction / NUM_CLASSES)
    classes = [c for c in sorted(centroids_of_class) if len(centroids_of_class[c])]
    num_random = num_fine - per_class * len(classes)
    plan: list[tuple[int, tuple[int, int] | None]] = [
        (int(i), None) for i in wrapped_sample(rng, num_fine, num_random)
    ]
    for train_id in classes:
        points = centroids_of_class[train_id]
        for row in points[wrapped_sample(rng, len(points), per_class)]:
            plan.append((int(row[0]), (int(row[1]), int(row[2]))))
    return plan


class ClassUniformDataset(Dataset):
    """Training crops: an epoch of len(fine) items, `fraction` of them class-uniform.

    fine, coarse: the labelled samples; coarse frames are only reached through centroids.
    transform(image, label, center=(x, y) or None, seed=int) -> dict of tensors. Item i depends
    only on (seed, epoch, i), never on the worker that loads it; call `set_epoch(epoch)` before
    loading items of an epoch.
    """

    def __init__(
        self,
        fine: list[Sample],
        coarse: list[Sample],
        transform: Callable,
        *,
        fraction: float = 0.5,
        tile_size: int = 1024,
        seed: int = 0,
        cache_dir: str | Path | None = None,
        root: Path | None = None,
        progress: bool = True,
    ) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise BadValueError(f"class-uniform fraction must be in [0, 1], got {fraction}")
        if not fine:
            raise BadValueError("class-uniform sampling needs fine training images; got none")
        self.samples = list(fine) + list(coarse)
        self.num_fine = len(fine)
        self.transform = transform
        self.fraction = fraction
        self.seed = seed
        self.epoch = 0
        self._plan: tuple[int, list] | None = None
        self.centroids_of_class: dict[int, np.ndarray] = {}
        if fraction > 0:
            if cache_dir is None:
                cache_dir = default_cache_dir(Path(root) if root is not None else Path.cwd())
            per_image = class_centroids(
                self.samples, cache_dir, tile_size=tile_size, progress=progress
            )
            rows: dict[int, list] = {}
            for index, image in enumerate(per_image):
                for train_id, points in image.items():
                    rows.setdefault(train_id, []).extend([index, x, y] for x, y in points)
            self.centroids_of_class = {c: np.asarray(r, dtype=np.int64) for c, r in rows.items()}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_fine

    def plan(self, epoch: int) -> list[tuple[int, tuple[int, int] | None]]:
        """Return the (image index, centroid or None) of every item of `epoch` (cached)."""
        if self._plan is None or self._plan[0] != epoch:
            rng = np.random.default_rng([self.seed, epoch, 0x5EED])
            self._plan = (
                epoch,
                build_epoch(self.num_fine, self.centroids_of_class, self.fraction, rng),
            )
        return self._plan[1]

    def coarse_fraction(self, epoch: int = 0) -> float:
        """Return the fraction of the crops of `epoch` that come from coarse frames."""
        return sum(image >= self.num_fine for image, _ in self.plan(epoch)) / self.num_fine

    def expected_coarse_fraction(self) -> float:
        """Return the mean of coarse_fraction over epochs (from the coarse share per class)."""
        per_class = int(self.num_fine * self.fraction / NUM_CLASSES)
        share = sum(
            float(np.mean(rows[:, 0] >= self.num_fine))
            for rows in self.centroids_of_class.values()
            if len(rows)
        )
        return per_class * share / self.num_fine

    def describe(self) -> str:
        """Return one line: fine and coarse frames, the epoch, and its share of coarse crops."""
        uniform = sum(center is not None for _, center in self.plan(0))
        return (
            f"training crops: {self.num_fine} fine + {len(self.samples) - self.num_fine} coarse "
            f"frames; an epoch is {self.num_fine} crops, {uniform} class-uniform "
            f"({len(self.centroids_of_class)} classes); "
            f"{100 * self.coarse_fraction(0):.1f} % from coarse frames"
        )

    def draw(self, index: int) -> tuple[int, tuple[int, int] | None, int]:
        """Return (image index, centroid (x, y) or None, transform seed) of item `index`."""
        image_index, center = self.plan(self.epoch)[index]
        seed = int(np.random.default_rng([self.seed, self.epoch, index]).integers(2**31))
        return image_index, center, seed

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray, str]:
        """Return (RGB uint8 image, uint8 trainId label, name) of sample `index` (fine first)."""
        sample = self.samples[index]
        image, label = load_sample(sample)
        return image, label, sample.name

    def __getitem__(self, index: int) -> dict:
        image_index, center, seed = self.draw(index)
        image, label, name = self.load(image_index)
        item = self.transform(image, label, center=center, seed=seed)
        item["name"] = name
        return item
