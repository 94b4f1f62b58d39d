"""Top-1/top-5 of a classifier on a dataset, the images sharded over the training processes."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from seg.classification.metrics import TopKAccuracy, topk_hits
from seg.classification.models import classifier_logits
from seg.utils import distributed as dist


@torch.no_grad()
def evaluate_classifier(model: torch.nn.Module, dataset, *, device="cpu", batch_size: int = 64,
                        num_workers: int = 0, progress: bool = False,
                        per_image: bool = False) -> dict:
    """Returns {"top1": %, "top5": %, "images": n} of `model` (in eval mode) on (image, target)
    items.

    Rank r evaluates items r, r + world_size, ...; the hit counts are summed over ranks, so every
    rank returns the accuracy over the whole dataset, each image counted once. per_image: also
    "hits", a bool array (images, 2) of each image's top-1 and top-5 hit, in dataset order.
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
    hits = []
    for images, targets in tqdm(
        loader, desc="eval", disable=not (progress and dist.is_main_process()), dynamic_ncols=True
    ):
        logits = classifier_logits(model(images.to(device, non_blocking=True)))
        meter.update(logits, targets.to(device))
        if per_image:
            hits.append(topk_hits(logits.float(), targets.to(device), (1, 5)).cpu().numpy())
    model.train(was_training)
    meter.reduce_from_all_processes(device)
    result = {**meter.percent(), "images": meter.count}
    if per_image:
        mine = np.concatenate(hits) if hits else np.zeros((0, 2), bool)
        # Rank r held items r, r + world, ...: interleave the gathered shards into dataset order.
        out = np.zeros((len(dataset), 2), bool)
        world = dist.get_world_size()
        for rank, part in enumerate(dist.all_gather_object(mine)):
            out[rank::world] = part
        result["hits"] = out
    return result
