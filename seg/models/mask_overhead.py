"""Timing of mask propagation against plain padding mode (the issue's <= 5% budget)."""
import statistics
import time

import torch


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
    interleaved and alternating which goes first, after one untimed call of each (the first
    call fills the ratio caches), so machine load hits both alike. Runs in eval mode.
    """
    model.eval()
    model(images)
    model(images, valid)
    times = {"padding": ([], []), "valid": ([], [])}
    for index in range(repeats):
        calls = [("padding", None), ("valid", valid)]
        for name, mask in (calls if index % 2 == 0 else calls[::-1]):
            wall, cpu = time.perf_counter(), time.process_time()
            model(images, mask)
            times[name][0].append(time.perf_counter() - wall)
            times[name][1].append(time.process_time() - cpu)
    result = {"repeats": repeats}
    for name, (wall, cpu) in times.items():
        result[f"{name}_s"], result[f"{name}_cpu_s"] = statistics.median(wall), statistics.median(cpu)
    result["ratio"] = result["valid_s"] / result["padding_s"]
    result["cpu_ratio"] = result["valid_cpu_s"] / result["padding_cpu_s"]
    return result
