"""Position probe (PosENet protocol, Islam et al., ICLR 2020): how much absolute position a
frozen network's features hold.

A readout of one 3x3 conv with no padding (so the readout itself cannot see a border) is trained
to regress each feature pixel's normalised (x, y) in [0, 1] from the features of one layer, on
training images, and scored on held-out ones. The error is the mean absolute error over x and
y; `baseline` is the error of the best constant prediction (the median of the targets), which
a probe of position-free features cannot beat: lower error = more position leaked.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from seg.diagnostics.inputs import features  # noqa: E402
from seg.diagnostics.stats import cell, interval  # noqa: E402


def position_targets(height: int, width: int) -> torch.Tensor:
    """Returns (2, H - 2, W - 2): normalised x and y of the pixels a 3x3 valid readout outputs."""
    ys = (torch.arange(1, height - 1) + 0.5) / height
    xs = (torch.arange(1, width - 1) + 0.5) / width
    return torch.stack([xs.view(1, -1).expand(height - 2, -1),
                        ys.view(-1, 1).expand(-1, width - 2)])


def constant_baseline(targets: torch.Tensor) -> float:
    """Returns the smallest mean absolute error a position-independent prediction reaches."""
    flat = targets.flatten(1)
    return float((flat - flat.median(1, keepdim=True).values).abs().mean())


PROBE_CHANNELS = 64  # wider features are projected to this many channels (see fit_readout)


def fit_readout(train, test, ridge: float = 1e-2) -> tuple:
    """Returns (per-image test error, baseline) of a 3x3 valid conv readout fitted to the
    (N, C, h, w) features train and scored on test.

    The readout is linear, so it is fitted in closed form: ridge regression of the targets on
    the 3x3 patches (plus a constant), the penalty `ridge` times the mean patch energy. The
    features are scaled by one number, which adds no position; more than PROBE_CHANNELS
    channels are first mixed down by a fixed random projection (the same at every pixel, so it
    adds no position either) to keep the fit small.
    """
    height, width = train.shape[-2:]
    targets = position_targets(height, width).double()
    scale = train.double().std().clamp(min=1e-12)
    project = None
    if train.shape[1] > PROBE_CHANNELS:
        generator = torch.Generator().manual_seed(0)
        project = torch.randn(PROBE_CHANNELS, train.shape[1], 1, 1, generator=generator,
                              dtype=torch.float64) / train.shape[1] ** 0.5

    def patches(maps):
        maps = maps.double() / scale
        if project is not None:
            maps = F.conv2d(maps, project)
        columns = F.unfold(maps, 3)  # (N, C * 9, (h - 2) * (w - 2))
        columns = columns.transpose(1, 2).reshape(-1, columns.shape[1])
        return torch.cat([columns, torch.ones(len(columns), 1, dtype=columns.dtype)], 1)

    inputs = patches(train)
    outputs = targets.flatten(1).t().repeat(len(train), 1)  # (N * (h - 2) * (w - 2), 2)
    gram = inputs.t() @ inputs
    penalty = ridge * gram.diagonal().mean() * torch.eye(len(gram), dtype=gram.dtype)
    weights = torch.linalg.solve(gram + penalty, inputs.t() @ outputs)
    predicted = (patches(test) @ weights).view(len(test), -1, 2)
    error = (predicted - targets.flatten(1).t()).abs().mean((1, 2))
    return error.numpy(), constant_baseline(targets)


def position_probe(model, inputs: dict, layers, train_fraction: float = 0.67) -> dict:
    """Returns {kind: {layer: {"error": (mean, lo, hi), "baseline": float, "size": [h, w],
    "per_image": [error of each held-out image]}}} for each kind of input images
    {kind: (N, 3, H, W)} (e.g. uniform, noise, real) and each layer."""
    result = {}
    for kind, images in inputs.items():
        count = max(1, min(len(images) - 1, round(train_fraction * len(images))))
        maps = features(model, images, layers)
        result[kind] = {}
        for layer, feature in maps.items():
            if min(feature.shape[-2:]) < 4:
                continue  # too small for a 3x3 valid readout to place anything
            error, baseline = fit_readout(feature[:count], feature[count:])
            result[kind][layer] = {"error": interval(error), "baseline": baseline,
                                   "size": list(feature.shape[-2:]),
                                   "per_image": [float(e) for e in error]}
    return result


def position_table(results: dict) -> str:
    """Returns a Markdown table: probe error [95% CI] per mode, input kind and layer."""
    lines = ["| mode | input | layer | feature size | error [95% CI] | constant baseline |",
             "|---|---|---|---|---|---|"]
    for mode, result in results.items():
        for kind, layers in result.items():
            for layer, row in layers.items():
                size = "x".join(map(str, row["size"]))
                lines.append(f"| {mode} | {kind} | {layer} | {size} | {cell(row['error'])} | "
                             f"{row['baseline']:.3f} |")
    return "\n".join(lines) + "\n"


def position_figure(results: dict):
    """Returns a figure: probe error per layer, one line per mode, one panel per input kind."""
    kinds = list(next(iter(results.values())))
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.6 * len(kinds), 3.2), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, kind in zip(axes[0], kinds):
        for mode, result in results.items():
            layers = list(result[kind])
            errors = [result[kind][layer]["error"][0] for layer in layers]
            ax.plot(np.arange(len(layers)), errors, marker="o", markersize=3, label=mode)
        baselines = [row["baseline"] for row in next(iter(results.values()))[kind].values()]
        ax.plot(np.arange(len(baselines)), baselines, "k--", linewidth=1, label="constant")
        ax.set_xticks(np.arange(len(baselines)), [_short(name) for name in layers],
                      rotation=30, fontsize=7)
        ax.set_title(f"{kind} images", fontsize=9)
    axes[0][0].set_ylabel("position error (MAE, lower = more leaked)", fontsize=8)
    axes[0][-1].legend(fontsize=7)
    return fig


def _short(name: str) -> str:
    return name.replace("backbone.", "")
