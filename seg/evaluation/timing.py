"""Wall-clock cost of each evaluation mode on one image (the issue's tile_overlap <= 1.6x regular check)."""
import time

import torch

from seg.evaluation.tiling import predict


@torch.no_grad()
def time_modes(model, image, modes=("regular", "tile", "tile_overlap"), *, tile=1024, repeats=3):
    """Return {mode: best-of-`repeats` seconds} for predicting `image` (N, 3, H, W), after one warm-up each.

    Modes are interleaved and the best run kept, so load from other processes sharing the CPU
    affects every mode alike and as little as possible.
    """
    model.eval()
    for mode in modes:
        predict(model, image, mode, tile=tile)  # warm-up: allocator, ratio caches, oneDNN kernels
    runs = {mode: [] for mode in modes}
    for _ in range(repeats):
        for mode in modes:
            start = time.perf_counter()
            predict(model, image, mode, tile=tile).argmax(1)
            runs[mode].append(time.perf_counter() - start)
    return {mode: min(r) for mode, r in runs.items()}
