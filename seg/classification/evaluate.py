"""Top-1/top-5 of a classifier on a dataset, the images sharded over the training processes."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from seg.classification.metrics import TopKAccuracy
from seg.classification.models import classifier_logits
from seg.utils import distributed as dist


@torch.no_grad()
def evaluate_classifier(model: torch.nn.Module, dataset, *, device="cpu", batch_size: int = 64,
                        num_workers: int = 0, progress: bool = False) -> dict:
    """Returns {"top1": %, "top5": %, "images": n} of `model` (in eval mode) on (image, target)
    items.

    Rank r evaluates items r, r + world_size, ...; the hit counts are summed over ranks, so every
    rank returns the accuracy over the whole dataset, each image counted once.
    """
    device = torch.device(device)
    shard = torch.utils.data.Subset(
        dataset, range(dist.get_rank(), len(dataset), dist.get_world_size())
    )
    loader = DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        pin_memory=device.type == "cuda")
    was_training = model.training
    model.eval()
    meter = TopKAccuracy((1, 5))
    for images, targets in tqdm(
        loader, desc="eval", disable=not (progress and dist.is_main_process()), dynamic_ncols=True
    ):
        logits = classifier_logits(model(images.to(device, non_blocking=True)))
        meter.update(logits, targets.to(device))
    model.train(was_training)
    meter.reduce_from_all_processes(device)
    return {**meter.percent(), "images": meter.count}
