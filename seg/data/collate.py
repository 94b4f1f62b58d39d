"""Batching of dataset items: tensors stacked, names kept as a list of str."""
from __future__ import annotations

import torch


def collate_batch(items: list[dict]) -> dict:
    """Return one dict with `image`, `label`, `valid` stacked along a new batch dimension and `name`
    a list.

    Items of different sizes (full evaluation images) cannot be stacked: use batch size 1 for them.
    """
    batch = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if isinstance(values[0], torch.Tensor):
            shapes = {tuple(v.shape) for v in values}
            if len(shapes) > 1:
                raise ValueError(
                    f"cannot batch {key!r} of shapes {sorted(shapes)}; use batch size 1 for full "
                    "images"
                )
            batch[key] = torch.stack(values)
        else:
            batch[key] = list(values)
    return batch
