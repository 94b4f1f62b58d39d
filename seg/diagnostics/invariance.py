"""Padding invariance: the share of pixels whose prediction changes when the image is placed in
a larger zero-filled canvas (zero in normalised input, the value zero padding adds).

The image sits in the top-left corner of a canvas `margin` pixels taller and wider, as in a
padded batch (seg.inference.pad_batch): the strided convs then sample the image at the positions
they sample it alone, so a change comes from what the padding reads, not from a shifted sampling
grid. With `valid`, this project's segmenters treat the canvas as holes in partial mode and keep
each image's own region at every layer (seg.models.valid_region), which makes them give exactly
their alone predictions; the other modes ignore the mask. For a classifier the share is of
images whose class changes.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from seg.diagnostics.inputs import predict, takes_valid  # noqa: E402
from seg.diagnostics.stats import cell, interval  # noqa: E402


def place_in_canvas(images: torch.Tensor, margin: int) -> tuple:
    """Returns (canvas, valid): images in the top-left corner of a zero canvas, and the 0/1 mask
    (N, 1, H + margin, W + margin) of the image's pixels."""
    n, c, height, width = images.shape
    canvas = images.new_zeros(n, c, height + margin, width + margin)
    valid = images.new_zeros(n, 1, height + margin, width + margin)
    canvas[..., :height, :width] = images
    valid[..., :height, :width] = 1
    return canvas, valid


def padding_invariance(model, images, margins=(8, 12), use_valid: bool = True) -> dict:
    """Returns {margin: (mean, lo, hi)}: the share of predictions that change in the canvas."""
    alone = predict(model, images)
    result = {}
    for margin in margins:
        canvas, valid = place_in_canvas(images, margin)
        mask = valid if use_valid and takes_valid(model) else None
        placed = predict(model, canvas, valid=mask)
        if placed.dim() > 1:
            height, width = images.shape[-2:]
            placed = placed[..., :height, :width]
        changed = (placed != alone).double()
        per_image = changed.flatten(1).mean(1) if changed.dim() > 1 else changed
        result[margin] = interval(per_image.numpy())
    return result


def invariance_table(results: dict) -> str:
    """Returns a Markdown table: changed predictions (%) [95% CI] per mode and margin."""
    margins = list(next(iter(results.values())))
    lines = ["| mode | " + " | ".join(f"margin {m} px" for m in margins) + " |",
             "|---|" + "---|" * len(margins)]
    for mode, result in results.items():
        lines.append(f"| {mode} | " + " | ".join(cell(result[m], 2, 100) for m in margins)
                     + " |")
    return "\n".join(lines) + "\n"


def invariance_figure(results: dict):
    """Returns a bar chart: changed predictions (%) per mode, one bar group per margin."""
    modes = list(results)
    margins = list(results[modes[0]])
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(modes), 3), layout="constrained")
    width = 0.8 / len(margins)
    x = np.arange(len(modes))
    for index, margin in enumerate(margins):
        means = np.array([100 * results[mode][margin][0] for mode in modes])
        lows = np.array([100 * results[mode][margin][1] for mode in modes])
        highs = np.array([100 * results[mode][margin][2] for mode in modes])
        errors = np.nan_to_num(np.stack([means - lows, highs - means]))
        ax.bar(x + index * width, means, width, yerr=errors, capsize=2,
               label=f"margin {margin} px")
    ax.set_xticks(x + width * (len(margins) - 1) / 2, modes, rotation=20, fontsize=8)
    ax.set_ylabel("changed predictions (%)", fontsize=8)
    ax.legend(fontsize=7)
    return fig
