"""ConfusionMatrix against IoU computed pixel by pixel from its definition; evaluate() under
2-process gloo."""
import math
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from seg.evaluation import evaluate
from seg.evaluation.confusion import ConfusionMatrix


def reference_iou(labels, preds, n):
    # IoU_c = TP / (TP + FP + FN) over pixels whose ground truth is a class (not 255).
    tp, fp, fn = np.zeros(n), np.zeros(n), np.zeros(n)
    for label, pred in zip(labels, preds):
        for g, p in zip(label.ravel().tolist(), pred.ravel().tolist()):
            if g == 255:
                continue
            if g == p:
                tp[g] += 1
            else:
                fn[g] += 1
                if 0 <= p < n:
                    fp[p] += 1
    denom = tp + fp + fn
    return [tp[c] / denom[c] if denom[c] else math.nan for c in range(n)]


def test_iou_matches_definition_with_ignore_and_void_predictions():
    rng = np.random.default_rng(0)
    n = 6
    # classes 4, 5 never true
    labels = [rng.choice([0, 1, 2, 3, 255], size=(13, 17)) for _ in range(3)]
    # 5 never predicted, 255 = void
    preds = [rng.choice([0, 1, 2, 3, 4, 255], size=(13, 17)) for _ in range(3)]
    cm = ConfusionMatrix(n)
    for label, pred in zip(labels, preds):
        cm.update(torch.from_numpy(label), torch.from_numpy(pred))
    ref = reference_iou(labels, preds, n)
    ours = cm.iou().tolist()
    assert math.isnan(ours[5]) and math.isnan(ref[5])
    assert ours[4] == 0.0  # predicted but never true: an IoU of 0 that counts in the mean
    np.testing.assert_allclose(ours[:5], ref[:5], rtol=1e-12)
    assert cm.miou() == pytest.approx(np.nanmean(ref), rel=1e-12)
    assert cm.pixels() == sum(int((label != 255).sum()) for label in labels)
    assert cm.mat.dtype == torch.int64


def test_perfect_and_empty():
    cm = ConfusionMatrix(3)
    assert math.isnan(cm.miou())
    label = torch.tensor([[0, 1, 255], [2, 2, 1]])
    cm.update(label, label.clamp(max=2))
    assert cm.miou() == 1.0


class Seeded(torch.nn.Module):
    """A fixed random 1x1 conv: deterministic predictions in every process."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 19, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


def tiny_dataset(n=5):
    g = torch.Generator().manual_seed(1)
    return [
        {
            "image": torch.randn(3, 16, 24, generator=g),
            "label": torch.randint(0, 19, (16, 24), generator=g),
            "valid": torch.ones(1, 16, 24),
            "name": f"frankfurt_000000_00000{i}_leftImg8bit.png",
        }
        for i in range(n)
    ]


def _worker(rank, world, port, queue):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        # Each rank scores images rank, rank + world, ...; the matrices are all-reduced.
        result = evaluate(
            Seeded(),
            tiny_dataset(),
            modes=("regular", "tile"),
            leave_out=(0, "1/2"),
            tile=16,
            progress=False,
        )
        result.pop("images_per_second")
        queue.put((rank, result))
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_evaluate_under_two_processes_equals_one_process():
    whole = evaluate(
        Seeded(),
        tiny_dataset(),
        modes=("regular", "tile"),
        leave_out=(0, "1/2"),
        tile=16,
        progress=False,
    )
    whole.pop("images_per_second")
    queue = mp.get_context("spawn").Queue()
    mp.start_processes(_worker, args=(2, free_port(), queue), nprocs=2, start_method="spawn")
    results = dict(queue.get(timeout=60) for _ in range(2))
    assert results[0] == whole and results[1] == whole
    # The shares really were different: one rank alone gives other numbers.
    alone = evaluate(Seeded(), tiny_dataset()[::2], modes=("regular",), progress=False)
    assert alone["mIoU"]["regular"] != whole["mIoU"]["regular"]
