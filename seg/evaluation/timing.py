"""Wall-clock cost of each evaluation mode on one image, to check that overlapping tiles stay
within 1.6x the cost of one regular pass."""
import torch

from seg.evaluation.tiling import predict
from seg.utils.timing import interleaved_times


@torch.no_grad()
def time_modes(model, image, modes=("regular", "tile", "tile_overlap"), *, tile=1024, repeats=3):
    """Return {mode: best-of-`repeats` seconds} for predicting `image` (N, 3, H, W), after one
    warm-up each.

    Modes are interleaved (seg.utils.timing) and the best run kept, so load from other
    processes sharing the CPU affects every mode alike and as little as possible.
    """
    model.eval()
    variants = {
        mode: (lambda mode=mode: predict(model, image, mode, tile=tile).argmax(1)) for mode in modes
    }
    # warm-up: allocator, ratio caches, oneDNN kernels
    runs = interleaved_times(variants, repeats=repeats, warmup=1, device=image.device)["wall"]
    return {mode: min(r) for mode, r in runs.items()}
