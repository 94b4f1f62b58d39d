"""All scores of one evaluation mode from one pass: every center leave-out proportion and distance
band.

For each image the predicted trainIds are counted once per grouping (leave-out rings, image-border
bands, tile-border bands) with a single bincount each, so adding proportions or bands costs almost
nothing next to the forward pass.
"""
import math

import torch

from seg.evaluation.confusion import (
    ConfusionMatrix,
    confusion_counts,
    reduce_from_all_processes,
)
from seg.evaluation.regions import (
    DISTANCE_EDGES,
    band_names,
    border_distance,
    distance_bands,
    leave_out_rings,
)
from seg.utils.distributed import all_gather_object, get_world_size
from seg.utils.labels import NUM_CLASSES


def percent(value):
    """Return value * 100, or None for NaN (JSON has no NaN)."""
    return None if math.isnan(value) else 100.0 * value


def intersection_and_union(counts):
    """Return int64 (..., 2, C): per-class intersection and union of counts (..., C, C + 1).

    A void prediction (last column) is a miss of the true class: it is in the class's union, as in
    ConfusionMatrix.iou.
    """
    num_classes = counts.shape[-2]
    intersection = counts.diagonal(dim1=-2, dim2=-1)
    union = counts.sum(-1) + counts[..., :num_classes].sum(-2) - intersection
    return torch.stack([intersection, union], dim=-2)


class BorderScores:
    """Confusion matrices of one mode: one per leave-out proportion and one per distance band.

    leave_out: proportions (Fractions); 0 (the whole image, i.e. the mode's mIoU) is always added.
    tile, overlap: the tiling of this mode, for the tile-border bands (tile=None: whole-image
    inference).
    """

    def __init__(
        self,
        num_classes=NUM_CLASSES,
        *,
        leave_out=(0,),
        edges=DISTANCE_EDGES,
        tile=None,
        overlap=None,
    ):
        self.num_classes = num_classes
        self.leave_out = sorted(set(leave_out) | {0})
        self.edges = tuple(edges)
        self.tile, self.overlap = tile, overlap
        self.by_leave_out = [ConfusionMatrix(num_classes) for _ in self.leave_out]
        self.by_band = {
            "image_border": [ConfusionMatrix(num_classes) for _ in range(len(self.edges) + 1)]
        }
        if tile is not None:
            self.by_band["tile_border"] = [
                ConfusionMatrix(num_classes) for _ in range(len(self.edges) + 1)
            ]
        self._groups = {}  # image size -> group maps, computed once per size
        # image index -> int64 (columns, 2, classes): intersection and union per class
        self.per_image = {}

    def _groups_of(self, height, width):
        # One joint group per pixel: (leave-out ring, band of each distance kind), so a single
        # bincount per image serves every table; the tables are its marginals.
        if (height, width) not in self._groups:
            group = leave_out_rings(height, width, self.leave_out)
            for kind in self.by_band:
                tile = self.tile if kind == "tile_border" else None
                bands = distance_bands(
                    border_distance(height, width, tile, self.overlap), self.edges
                )
                group = group * (len(self.edges) + 1) + bands
            self._groups[(height, width)] = group
        return self._groups[(height, width)]

    def columns(self):
        """Return the per-image columns: "leave_out/<p>", then "<kind>/<band>" per distance kind."""
        names = band_names(self.edges)
        return [f"leave_out/{p}" for p in self.leave_out] + [
            f"{kind}/{n}" for kind in self.by_band for n in names
        ]

    def update(self, label, pred, index=None):
        """Count one image: label and pred are int64 (H, W) trainIds, label 255 = ignore.

        With `index` (the image's position in the dataset) its per-class intersection and union of
        every column are also kept, the sufficient statistics of IoU that sum to the totals.
        """
        label, pred = label.cpu(), pred.cpu()
        num_bands = len(self.edges) + 1
        shape = [len(self.leave_out) + 1] + [num_bands] * len(self.by_band)
        counts = confusion_counts(
            label, pred, self.num_classes, self._groups_of(*label.shape), math.prod(shape)
        )
        counts = counts.reshape(*shape, self.num_classes, self.num_classes + 1)
        rings = counts.sum(tuple(range(1, len(shape))))  # proportion k scores rings > k
        image = [rings[k + 1:].sum(0) for k in range(len(self.leave_out))]
        for k, matrix in enumerate(self.by_leave_out):
            matrix.mat += image[k]
        for axis, matrices in enumerate(self.by_band.values(), start=1):
            bands = counts.sum(tuple(a for a in range(len(shape)) if a != axis))
            for matrix, count in zip(matrices, bands):
                matrix.mat += count
                image.append(count)
        if index is not None:
            self.per_image[index] = intersection_and_union(torch.stack(image))

    def matrices(self):
        """Return every confusion matrix held (for reduction across processes)."""
        return self.by_leave_out + [m for matrices in self.by_band.values() for m in matrices]

    def reduce_from_all_processes(self):
        """Sum every matrix over all ranks; every rank then also holds every image's statistics."""
        reduce_from_all_processes(self.matrices())
        if get_world_size() > 1:  # every rank joins, also one that scored no image
            gathered = all_gather_object({i: v.numpy() for i, v in self.per_image.items()})
            self.per_image = {i: torch.from_numpy(v) for part in gathered for i, v in part.items()}

    def miou(self):
        """Return the mode's mIoU (whole image, leave-out 0) as a fraction."""
        return self.by_leave_out[0].miou()

    def result(self, class_names):
        """Return this mode's numbers in percent: mIoU, per-class IoU, leave-out and distance
        tables."""
        names = band_names(self.edges)
        return {
            "mIoU": percent(self.miou()),
            "per_class_iou": {
                c: percent(float(v)) for c, v in zip(class_names, self.by_leave_out[0].iou())
            },
            "leave_out": {
                str(p): percent(m.miou()) for p, m in zip(self.leave_out, self.by_leave_out)
            },
            "distance": {
                kind: {n: percent(m.miou()) for n, m in zip(names, ms)}
                for kind, ms in self.by_band.items()
            },
            "distance_pixels": {
                kind: {n: m.pixels() for n, m in zip(names, ms)}
                for kind, ms in self.by_band.items()
            },
        }
