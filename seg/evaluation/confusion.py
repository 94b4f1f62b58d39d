"""Confusion matrix over the 19 Cityscapes train classes, with the mIoU that cityscapesscripts
reports.

Rows are ground truth, columns predictions. Ground truth 255 is ignored. A prediction outside
0..num_classes-1 (a submission PNG holding a labelId that is ignored in evaluation) lands in one
extra "void" column: it is a miss for the true class and a false positive for none, which is how
cityscapesscripts' evalPixelLevelSemanticLabeling counts it.
"""
import torch

from seg.utils.distributed import all_reduce_sum, get_world_size, is_initialized
from seg.utils.labels import NUM_CLASSES


def confusion_counts(label, pred, num_classes, group=None, num_groups=1):
    """Return int64 counts (num_groups, num_classes, num_classes + 1) of (group, ground truth,
    prediction).

    `group` (same shape as label, values in 0..num_groups-1) splits the pixels in one bincount,
    so every distance band or leave-out ring of an image costs a single pass over its pixels.
    """
    label = label.reshape(-1).long()
    pred = pred.reshape(-1).long()
    cols = num_classes + 1
    bins = num_groups * num_classes * cols
    pred = torch.where((pred >= 0) & (pred < num_classes), pred, num_classes)
    index = label * cols + pred
    if group is not None:
        index += group.reshape(-1).long() * (num_classes * cols)
    # Ignored ground truth goes to one extra bin that is dropped (cheaper than boolean indexing).
    index = torch.where((label >= 0) & (label < num_classes), index, bins)
    counts = torch.bincount(index, minlength=bins + 1)[:bins]
    return counts.reshape(num_groups, num_classes, cols)


def reduce_from_all_processes(matrices):
    """Sum the counts of several ConfusionMatrix objects over all ranks with a single all_reduce."""
    if get_world_size() == 1:
        return
    stacked = torch.stack([m.mat for m in matrices])
    # nccl only reduces CUDA tensors; gloo reduces CPU ones.
    if is_initialized() and torch.distributed.get_backend() == "nccl":
        stacked = stacked.cuda()
    stacked = all_reduce_sum(stacked).cpu()
    for matrix, mat in zip(matrices, stacked):
        matrix.mat = mat.clone()


class ConfusionMatrix:
    """Accumulates (ground truth, prediction) pixel counts; `.iou()` and `.miou()` read them out."""

    def __init__(self, num_classes=NUM_CLASSES):
        self.num_classes = num_classes
        self.mat = torch.zeros(num_classes, num_classes + 1, dtype=torch.int64)

    def update(self, label, pred):
        """Add one image (or a batch) of trainId labels (255 = ignore) and predicted trainIds."""
        self.mat += confusion_counts(label.cpu(), pred.cpu(), self.num_classes)[0]

    def reduce_from_all_processes(self):
        """Sum the counts over all ranks (a no-op outside torch.distributed)."""
        reduce_from_all_processes([self])

    def iou(self):
        """Return per-class IoU as float64 (num_classes,); NaN for a class absent from both truth
        and prediction."""
        mat = self.mat.double()
        true_positive = mat.diagonal()
        ground_truth = mat.sum(1)  # includes the void column: a void prediction is a miss
        predicted = mat[:, : self.num_classes].sum(0)
        union = ground_truth + predicted - true_positive
        return torch.where(
            union > 0, true_positive / union.clamp(min=1), torch.full_like(union, float("nan"))
        )

    def miou(self):
        """Return the mean IoU over classes that occur (NaN if none), as cityscapes'
        averageScoreClasses."""
        iou = self.iou()
        present = ~torch.isnan(iou)
        return float(iou[present].mean()) if present.any() else float("nan")

    def pixels(self):
        """Return the number of scored (non-ignored) pixels."""
        return int(self.mat.sum())

    def __repr__(self):
        return (f"ConfusionMatrix(num_classes={self.num_classes}, pixels={self.pixels()}, "
                f"mIoU={100 * self.miou():.2f})")
