"""Shift consistency: do predictions on two crops offset by s pixels agree on their overlap?

Crop A is the image's top-left (H - m, W - m) window, crop B the same window shifted by (s, s),
m the largest shift. On their overlap every pixel is predicted twice, with different context;
agreement is tallied by the pixel's distance to the nearest border of either crop — the tile
border effect of the paper, measured without labels. `circular=True` compares the whole image
with its circular shift instead (torch.roll), under which a circular-padding, stride-1 network
is exactly equivariant. A classifier's agreement is the share of images whose class is the same.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from seg.diagnostics.inputs import predict  # noqa: E402
from seg.diagnostics.stats import cell, interval  # noqa: E402

DISTANCE_EDGES = (0, 1, 2, 4, 8, 16, 32, 64)  # bins [0,1), [1,2), ..., [64, inf) in pixels


def border_distance(height: int, width: int, top: int = 0, left: int = 0) -> torch.Tensor:
    """Returns (H, W) distances to the border of a height x width window at (top, left) of a
    grid of its own size shifted by (top, left) (negative rows are outside it)."""
    rows = torch.arange(height).view(-1, 1) - top
    cols = torch.arange(width).view(1, -1) - left
    return torch.minimum(torch.minimum(rows, height - 1 - rows),
                         torch.minimum(cols, width - 1 - cols))


def _bins(distance: torch.Tensor) -> torch.Tensor:
    edges = torch.tensor(DISTANCE_EDGES[1:])
    return torch.bucketize(distance, edges, right=True)


def _overlap_pairs(model, images, shift, crop, circular):
    """Returns (labels of A on the overlap, labels of B there, distances), per image."""
    height, width = crop
    if circular:
        first = predict(model, images)
        second = predict(model, torch.roll(images, (shift, shift), dims=(-2, -1)))
        second = torch.roll(second, (-shift, -shift), dims=(-2, -1))
        full_h, full_w = images.shape[-2:]
        distance = torch.minimum(border_distance(full_h, full_w),
                                 torch.roll(border_distance(full_h, full_w), (-shift, -shift),
                                            dims=(0, 1)))
        return first, second, distance
    first = predict(model, images[..., :height, :width])
    second = predict(model, images[..., shift:shift + height, shift:shift + width])
    if first.dim() == 1:  # a classifier: one label per crop
        return first, second, None
    a = first[..., shift:, shift:]
    b = second[..., :height - shift, :width - shift]
    overlap_a = border_distance(height, width)[shift:, shift:]
    overlap_b = border_distance(height, width)[:height - shift, :width - shift]
    return a, b, torch.minimum(overlap_a, overlap_b)


def shift_consistency(model, images, shifts=(1, 4, 8, 16), circular: bool = False) -> dict:
    """Returns {"shifts", "edges", "overall": {s: (mean, lo, hi)}, "by_distance": {s: [share per
    distance bin, NaN where empty]}} of the agreement between shifted crops of images."""
    margin = 0 if circular else max(shifts)
    crop = (images.shape[-2] - margin, images.shape[-1] - margin)
    result = {"shifts": list(shifts), "edges": list(DISTANCE_EDGES), "overall": {},
              "by_distance": {}}
    for shift in shifts:
        a, b, distance = _overlap_pairs(model, images, shift, crop, circular)
        same = (a == b).double()
        per_image = same.flatten(1).mean(1) if same.dim() > 1 else same
        result["overall"][shift] = interval(per_image.numpy())
        if distance is None:
            continue
        bins = _bins(distance).flatten()
        agree = same.flatten(1).sum(0)
        counts = torch.bincount(bins, minlength=len(DISTANCE_EDGES)).double() * len(same)
        sums = torch.bincount(bins, weights=agree, minlength=len(DISTANCE_EDGES))
        shares = torch.where(counts > 0, sums / counts.clamp(min=1), torch.nan)
        result["by_distance"][shift] = shares.tolist()
    return result


def _bin_label(index: int) -> str:
    low = DISTANCE_EDGES[index]
    high = DISTANCE_EDGES[index + 1] - 1 if index + 1 < len(DISTANCE_EDGES) else None
    if high is None:
        return f"{low}+"
    return str(low) if high == low else f"{low}-{high}"


def shift_table(results: dict) -> str:
    """Returns a Markdown table: agreement (%) per mode and shift, overall and per distance."""
    first = next(iter(results.values()))
    dense = bool(first["by_distance"])
    bins = [_bin_label(i) for i in range(len(first["edges"]))] if dense else []
    lines = ["| mode | shift | agreement % [95% CI] | " + " | ".join(f"d {b}" for b in bins)
             + " |", "|---|---|---|" + "---|" * len(bins)]
    for mode, result in results.items():
        for shift in result["shifts"]:
            by = result["by_distance"].get(shift, [])
            parts = ["-" if np.isnan(v) else f"{100 * v:.1f}" for v in by]
            lines.append(f"| {mode} | {shift} | {cell(result['overall'][shift], 2, 100)} | "
                         + " | ".join(parts) + " |")
    return "\n".join(lines) + "\n"


def shift_figure(results: dict):
    """Returns a figure: agreement against distance to the crop border, one panel per shift."""
    first = next(iter(results.values()))
    shifts = first["shifts"]
    fig, axes = plt.subplots(1, len(shifts), figsize=(3.2 * len(shifts), 3), squeeze=False,
                             sharey=True, layout="constrained")
    x = np.arange(len(first["edges"]))
    for ax, shift in zip(axes[0], shifts):
        for mode, result in results.items():
            if shift in result["by_distance"]:
                ax.plot(x, 100 * np.asarray(result["by_distance"][shift]), marker="o",
                        markersize=3, label=mode)
            else:
                ax.axhline(100 * result["overall"][shift][0], label=mode)
        ax.set_xticks(x, [_bin_label(i) for i in x], fontsize=7)
        ax.set_title(f"shift {shift} px", fontsize=9)
        ax.set_xlabel("distance to crop border (px)", fontsize=8)
    axes[0][0].set_ylabel("agreement (%)", fontsize=8)
    axes[0][-1].legend(fontsize=7)
    return fig
