"""Per-image sufficient statistics of IoU: each image's per-class intersection and union counts.

For every evaluation column (mode x leave-out proportion, mode x distance band) and class, the
intersection and the union of one image add up over images to the counts the aggregate IoU is
computed from, so any subset or resample of the images can be rescored exactly without running
the model again (seg.evaluation.bootstrap does that). One compressed .npz per evaluated run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seg.utils.errors import UserError
from seg.utils.files import write_atomic

FORMAT = 1  # bumped when the arrays change meaning


@dataclass
class PerImageStats:
    """Counts of one run: intersection and union are int64 (images, columns, classes)."""

    images: list[str]  # image names, dataset order
    columns: list[str]  # "<mode>/leave_out/<p>", "<mode>/image_border/<band>", ...
    classes: list[str]
    intersection: np.ndarray
    union: np.ndarray
    meta: dict = field(
        default_factory=dict
    )  # name, split, fold, data_root, padding, seed, checkpoint

    def totals(self):
        """Return (intersection, union) summed over images: int64 (columns, classes)."""
        return self.intersection.sum(0), self.union.sum(0)

    def miou(self):
        """Return mIoU (%) per column from the summed counts, averaging the classes that occur."""
        intersection, union = self.totals()
        return mean_iou(intersection, union)


def mean_iou(intersection, union):
    """Return 100 * mean over classes with union > 0 of intersection / union (last axis)."""
    present = union > 0
    iou = np.where(present, intersection / np.maximum(union, 1), 0.0)
    count = present.sum(-1)
    with np.errstate(
        invalid="ignore", divide="ignore"
    ):  # no class present: NaN, as ConfusionMatrix.miou
        return np.where(count > 0, 100.0 * iou.sum(-1) / count, np.nan)


def from_scores(scores: dict, names: list[str], classes: list[str], meta=None) -> PerImageStats:
    """Return the statistics kept by BorderScores ({mode: scores}) for images 0..len(names)-1."""
    columns, blocks = [], []
    for mode, s in scores.items():
        columns += [f"{mode}/{c}" for c in s.columns()]
        missing = [i for i in range(len(names)) if i not in s.per_image]
        if missing:
            raise RuntimeError(f"mode {mode}: no per-image counts for images {missing[:5]}")
        blocks.append(np.stack([s.per_image[i].numpy() for i in range(len(names))]))
    counts = (
        np.concatenate(blocks, axis=1)
        if blocks
        else np.zeros((len(names), 0, 2, len(classes)), np.int64)
    )
    return PerImageStats(
        list(names),
        columns,
        list(classes),
        counts[:, :, 0].astype(np.int64),
        counts[:, :, 1].astype(np.int64),
        dict(meta or {}),
    )


def save_per_image(stats: PerImageStats, path) -> Path:
    """Write `stats` as a compressed .npz (a temporary file, then renamed); return the path."""
    meta = {f"meta_{k}": np.array("" if v is None else str(v)) for k, v in stats.meta.items()}
    return write_atomic(
        path,
        lambda tmp: np.savez_compressed(
            tmp,
            format=np.array(FORMAT),
            images=np.array(stats.images),
            columns=np.array(stats.columns),
            classes=np.array(stats.classes),
            intersection=stats.intersection,
            union=stats.union,
            **meta,
        ),
    )


def load_per_image(path) -> PerImageStats:
    """Return the statistics save_per_image wrote; a UserError names a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path} not found — tools/evaluate.py --out DIR / --json OUT writes a .npz beside its "
            f"JSON"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise UserError(
            f"{path} is not a per-image statistics file of tools/evaluate.py ({err})"
        ) from None
    needed = {"format", "images", "columns", "classes", "intersection", "union"}
    if not needed <= set(arrays) or int(arrays["format"]) != FORMAT:
        raise UserError(
            f"{path} is not a per-image statistics file (format {FORMAT}) of tools/evaluate.py "
            f"— evaluate the checkpoint again"
        )
    meta = {k[len("meta_") :]: str(v) for k, v in arrays.items() if k.startswith("meta_")}
    return PerImageStats(
        [str(x) for x in arrays["images"]],
        [str(x) for x in arrays["columns"]],
        [str(x) for x in arrays["classes"]],
        arrays["intersection"].astype(np.int64),
        arrays["union"].astype(np.int64),
        meta,
    )
