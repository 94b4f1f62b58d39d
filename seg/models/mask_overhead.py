"""Timing of mask propagation against plain padding mode, whose overhead should stay within 5%."""
import statistics

import torch

from seg.utils.timing import interleaved_times


def padded_valid(batch: int, height: int, width: int, real_height: int, real_width: int):
    """Returns a (batch, 1, height, width) mask whose top-left real_height x real_width is real.

    The layout of a padded batch: each image in the top-left corner, holes below and right.
    """
    valid = torch.zeros(batch, 1, height, width)
    valid[:, :, :real_height, :real_width] = 1
    return valid


@torch.no_grad()
def mask_propagation_overhead(model, images, valid, repeats: int = 5) -> dict:
    """Returns median wall and CPU seconds of both paths and their ratios.

    Keys: padding_s, valid_s, ratio (wall clock), padding_cpu_s, valid_cpu_s, cpu_ratio
    (process CPU time, all threads: steadier than the wall clock on a shared machine), repeats.
    Times model(images) (padding mode) and model(images, valid) (mask propagation) in one run,
    interleaved by seg.utils.timing after one untimed call of each (the first call fills
    the ratio caches), so machine load hits both alike. Runs in eval mode.
    """
    model.eval()
    variants = {"padding": lambda: model(images), "valid": lambda: model(images, valid)}
    times = interleaved_times(variants, repeats=repeats, warmup=1, clocks=("wall", "process"),
                              device=images.device)
    result = {"repeats": repeats}
    for name in variants:
        result[f"{name}_s"] = statistics.median(times["wall"][name])
        result[f"{name}_cpu_s"] = statistics.median(times["process"][name])
    result["ratio"] = result["valid_s"] / result["padding_s"]
    result["cpu_ratio"] = result["valid_cpu_s"] / result["padding_cpu_s"]
    return result
