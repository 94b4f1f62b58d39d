"""How much running in a padded batch moves each image's logits, against running it alone."""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn

from seg.inference.batch import pad_batch, unpad


@torch.no_grad()
def batch_invariance(model: nn.Module, sizes: Sequence[Tuple[int, int]], *, seed: int = 0,
                     device="cpu") -> List[dict]:
    """Returns, per image, how its logits in one padded batch differ from its logits alone.

    Random images (seeded) of the given sizes go through model(batch, valid) together, each in
    the top-left corner, and through model(image) one by one. Each entry: size, max_abs (the
    largest |logit difference|), scale (the largest |logit| alone) and agreement (the fraction
    of pixels whose argmax is the same).
    """
    generator = torch.Generator().manual_seed(seed)
    images = [torch.randn(3, h, w, generator=generator) for h, w in sizes]
    batch, valid = pad_batch(images)
    batched = unpad(model(batch.to(device), valid.to(device)), sizes)
    rows = []
    for image, together in zip(images, batched):
        alone = model(image[None].to(device))[0]
        rows.append({
            "size": tuple(image.shape[-2:]),
            "max_abs": (together - alone).abs().max().item(),
            "scale": alone.abs().max().item(),
            "agreement": (together.argmax(0) == alone.argmax(0)).double().mean().item(),
        })
    return rows
