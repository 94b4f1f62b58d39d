"""Measure crops/s of the training pipeline (read, scale, pad, crop, flip, blur, jitter, normalise)
per worker.

    python tools/benchmark_data.py [--data-root ROOT] [--crop-size 896] [--items 40] [--workers 0]

Without --data-root, a small synthetic set of 1024x2048 frames is written to a temporary folder.
With --workers 0 (default) the pipeline runs in this process on one thread, as one DataLoader worker
does.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import torch
from torch.utils.data import DataLoader, RandomSampler

from seg.data import build_train_dataset, collate_batch
from seg.data.synthetic import make_synthetic
from seg.utils.errors import run_cli


def crops_per_second(dataset, items: int, workers: int) -> float:
    """Return crops/s per worker over `items` items (first item excluded: worker start-up)."""
    sampler = RandomSampler(
        dataset, replacement=True, num_samples=items, generator=torch.Generator().manual_seed(0)
    )
    loader = DataLoader(
        dataset, batch_size=1, sampler=sampler, num_workers=workers, collate_fn=collate_batch
    )
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    for _ in range(items - 1):
        next(iterator)
    return (items - 1) / (time.perf_counter() - start) / max(1, workers)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-root", help="Cityscapes root; default: a temporary synthetic 1024x2048 set"
    )
    parser.add_argument("--crop-size", type=int, default=896)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # one worker = one core; DataLoader workers get no more
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_root
        if root is None:
            root = Path(tmp) / "cityscapes"
            make_synthetic(root, train=12, val=0, extra=4, size=(1024, 2048), seed=0)
        dataset = build_train_dataset(
            root,
            crop_size=args.crop_size,
            coarse=True,
            cache_dir=Path(tmp) / "cache",
            progress=False,
        )
        rate = crops_per_second(dataset, args.items, args.workers)
    print(
        f"{rate:.2f} crops/s per worker ({args.crop_size}x{args.crop_size} crops of "
        f"{len(dataset)} images, "
        f"{max(1, args.workers)} worker(s), class-uniform fraction {dataset.fraction})"
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
