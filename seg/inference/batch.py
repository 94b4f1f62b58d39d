"""Padded batches: images of any sizes in one tensor, each in the top-left corner, with `valid`."""
from typing import List, Sequence, Tuple

import torch


def pad_batch(images: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Returns (batch (N, C, H, W), valid (N, 1, H, W)) for images (C, h_i, w_i).

    H and W are the largest height and width; each image sits in the top-left corner, zeros
    below and right of it, and valid is 1 on its pixels. The top-left corner is what makes a
    partial-padding model exact: its strided convs then sample every image at the positions
    they sample it alone (seg.models.valid_region). Any sizes work, multiples of the output
    stride or not.
    """
    if not images:
        raise ValueError("pad_batch needs at least one image")
    height = max(image.shape[-2] for image in images)
    width = max(image.shape[-1] for image in images)
    first = images[0]
    batch = first.new_zeros(len(images), first.shape[0], height, width)
    valid = first.new_zeros(len(images), 1, height, width)
    for index, image in enumerate(images):
        h, w = image.shape[-2:]
        batch[index, :, :h, :w] = image
        valid[index, :, :h, :w] = 1
    return batch, valid


def unpad(logits: torch.Tensor, sizes: Sequence[Tuple[int, int]]) -> List[torch.Tensor]:
    """Returns each image's (C, h_i, w_i) part of batch outputs (N, C, H, W)."""
    return [logits[index, :, :h, :w] for index, (h, w) in enumerate(sizes)]


def size_groups(sizes: Sequence[Tuple[int, int]]) -> List[List[int]]:
    """Returns the indices of sizes grouped by equal size, in order of first appearance."""
    groups: dict = {}
    for index, size in enumerate(sizes):
        groups.setdefault(tuple(size), []).append(index)
    return list(groups.values())
