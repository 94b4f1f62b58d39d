"""Images per second of a mixed-size padded batch against the same images one by one.

Both variants give every image the same logits (seg.models.valid_region); the padded batch
pays for the holes (the batch is max height x max width per image) and the mask bookkeeping,
and saves per-call overhead and small-matrix inefficiency. Interleaved repetitions
(seg.utils.timing) make the ratio fair on a shared machine.
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn

from seg.inference.batch import pad_batch
from seg.utils.timing import interleaved_times, relative, spread


def padded_batch_speed(model: nn.Module, sizes: Sequence[Tuple[int, int]], *, repeats: int = 5,
                       warmup: int = 1, device="cpu", clock: str = "wall") -> dict:
    """Returns {'images_per_second': {variant: median}, 'batch_vs_alone': (ratio - 1, IQR),
    'real_fraction': real pixels / batch pixels} for random images of the given sizes."""
    generator = torch.Generator().manual_seed(0)
    images = [torch.randn(3, h, w, generator=generator).to(device) for h, w in sizes]
    batch, valid = pad_batch(images)
    model = model.eval().to(device)

    def one_by_one():
        with torch.no_grad():
            return [model(image[None]) for image in images]

    def padded():
        with torch.no_grad():
            return model(batch, valid)

    times = interleaved_times({"one by one": one_by_one, "padded batch": padded},
                              repeats=repeats, warmup=warmup, clocks=(clock,),
                              device=torch.device(device))[clock]
    # Time ratio alone / batch - 1 = how much faster the batch is (positive: faster).
    speedup = relative({"alone": times["one by one"], "batch": times["padded batch"]}, "alone",
                       "batch")
    return {
        "images_per_second": {name: len(images) / spread(values)[0]
                              for name, values in times.items()},
        "batch_vs_alone": speedup,
        "real_fraction": float(valid.mean()),
    }
