"""Border activation profile: mean absolute activation per layer against distance to the image
border, and the border/interior ratio per layer.

Distances are counted in the layer's own pixels (0 = the outermost ring of the feature map) and
reported in input pixels too (times the layer's stride). The border ring is distance 0; the
interior is every pixel at least a quarter of the map's smaller side away from the border.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from seg.diagnostics.inputs import features  # noqa: E402
from seg.diagnostics.shift import border_distance  # noqa: E402
from seg.diagnostics.stats import cell, interval  # noqa: E402


def activation_profile(feature: torch.Tensor) -> tuple:
    """Returns (profile, per-image border/interior ratios) of (N, C, h, w) activations: profile[d]
    is the mean |activation| over channels, images and pixels at distance d to the border."""
    height, width = feature.shape[-2:]
    magnitude = feature.abs().double().mean(1)  # (N, h, w)
    distance = border_distance(height, width).flatten()
    flat = magnitude.flatten(1)
    counts = torch.bincount(distance).double()
    profile = torch.stack([torch.bincount(distance, weights=row) for row in flat]) / counts
    interior = distance >= max(1, min(height, width) // 4)
    ratios = profile[:, 0] / flat[:, interior].mean(1)
    return profile.mean(0).numpy(), ratios.numpy()


def border_profile(model, images, layers) -> dict:
    """Returns {layer: {"profile": [...], "stride": float, "ratio": (mean, lo, hi)}}."""
    result = {}
    for layer, feature in features(model, images, layers).items():
        if min(feature.shape[-2:]) < 4:
            continue  # no interior to compare with
        profile, ratios = activation_profile(feature.float())
        result[layer] = {"profile": profile.tolist(), "ratio": interval(ratios),
                         "stride": images.shape[-1] / feature.shape[-1]}
    return result


def border_table(results: dict) -> str:
    """Returns a Markdown table: border/interior activation ratio [95% CI] per layer and mode."""
    modes = list(results)
    layers = list(results[modes[0]])
    lines = ["| layer | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for layer in layers:
        lines.append(f"| {layer} | " + " | ".join(cell(results[mode][layer]["ratio"], 2)
                                                 for mode in modes) + " |")
    return "\n".join(lines) + "\n"


def border_figure(results: dict, max_distance: float = 64):
    """Returns a figure: |activation| against distance to the border (input pixels), one panel
    per layer, one line per mode; each panel shows the first max_distance input pixels."""
    layers = list(next(iter(results.values())))
    columns = min(3, len(layers))
    rows = -(-len(layers) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.6 * rows), squeeze=False,
                             layout="constrained")
    for ax, layer in zip(axes.flat, layers):
        for mode, result in results.items():
            row = result[layer]
            distance = np.arange(len(row["profile"])) * row["stride"]
            keep = distance <= max_distance
            ax.plot(distance[keep], np.asarray(row["profile"])[keep], marker="o", markersize=2,
                    label=mode)
        ax.set_title(layer.replace("backbone.", ""), fontsize=9)
        ax.set_xlabel("distance to border (input px)", fontsize=8)
    for ax in axes.flat[len(layers):]:
        ax.axis("off")
    axes[0][0].set_ylabel("mean |activation|", fontsize=8)
    axes[0][0].legend(fontsize=7)
    return fig
