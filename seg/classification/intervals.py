"""Top-1 with intervals over images and seeds: per-image hits, compared as segmentation runs are.

At the end of training, tools/train_classifier.py evaluates last.pth on the val set once more and
saves every image's top-1 and top-5 hit as <run>/val_per_image.npz, in the per-image format of
seg.evaluation.per_image (intersection = hit, union = 1, one "class"), so accuracy is a ratio of
sums and seg.evaluation.bootstrap resamples it exactly like mIoU: images (the same draw for both
paddings) and seeds within each padding. These intervals are about the last model's top-1; the
paper's table 2 takes each run's best epoch, a maximum over epochs that no image resample
reproduces.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from seg.evaluation.comparison import Group, compare
from seg.evaluation.per_image import PerImageStats, load_per_image, save_per_image

PER_IMAGE = "val_per_image.npz"
COLUMNS = ["top1", "top5"]


def image_names(dataset) -> list[str]:
    """Returns the val images' paths relative to the val folder (ImageFolder or a Subset of one)."""
    indices = getattr(dataset, "indices", None)
    base = dataset.dataset if indices is not None else dataset
    samples = base.samples if indices is None else [base.samples[i] for i in indices]
    return [os.path.relpath(path, base.root) for path, _ in samples]


def save_hits(run_dir, hits: np.ndarray, names: list[str], meta: dict) -> pathlib.Path:
    """Returns the path of <run_dir>/val_per_image.npz after writing bool hits (images, 2) to it."""
    counts = hits.astype(np.int64)[:, :, None]
    stats = PerImageStats(
        names, COLUMNS, ["all"], counts, np.ones_like(counts), {"split": "val", **meta}
    )
    return save_per_image(stats, pathlib.Path(run_dir) / PER_IMAGE)


def top1_intervals(runs: list[dict], *, resamples: int = 2000, seed: int = 0) -> list[dict]:
    """Returns a row per (architecture, padding but zeros) whose runs all have per-image hits.

    Each row: network, runs, mean and std of the last model's top-1 over runs, and the difference to
    the zero-padding row of the same architecture with its 95% interval (seg.evaluation.comparison).
    """
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["model"], run["padding"]), []).append(run)
    rows = []
    for (model, padding), members in sorted(groups.items()):
        zeros = groups.get((model, "zeros"))
        members = sorted(members, key=lambda r: r["seed"])
        if padding == "zeros" or not zeros:
            continue
        zeros = sorted(zeros, key=lambda r: r["seed"])
        paths = [pathlib.Path(r["run_dir"]) / PER_IMAGE for r in zeros + members]
        if not all(p.is_file() for p in paths):
            continue
        stats = [load_per_image(p) for p in paths]
        a = Group(f"{model}_zeros", [r["name"] for r in zeros], stats[: len(zeros)])
        b = Group(f"{model}_{padding}", [r["name"] for r in members], stats[len(zeros) :])
        result = compare(a, b, resamples=resamples, seed=seed)
        k = result["columns"].index("top1")
        rows.append(
            {
                "network": b.name,
                "reference": a.name,
                "runs": len(members),
                "reference_runs": len(zeros),
                "mean": result["b"]["mean"][k],
                "std": result["b"]["std"][k],
                "reference_mean": result["a"]["mean"][k],
                "reference_std": result["a"]["std"][k],
                "diff": result["diff"][k],
                "interval": [result["interval"][0][k], result["interval"][1][k]],
                "images": result["num_images"],
                "images_only": result["images_only"],
            }
        )
    return rows


def _mean_std(mean, std):
    return f"{mean:.3f}" + ("" if std is None else f" ± {std:.3f}")


def intervals_markdown(rows: list[dict], resamples: int = 2000) -> str:
    """Returns the rows as a Markdown table with a line saying what the interval is over."""
    header = [
        "Network",
        "runs",
        "top-1 of last.pth, mean ± std",
        "zeros: mean ± std",
        "diff",
        "95% CI",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        low, high = row["interval"]
        mark = " *" if low > 0 or high < 0 else ""
        lines.append(
            f"| {row['network']} | {row['runs']} vs {row['reference_runs']} | "
            f"{_mean_std(row['mean'], row['std'])} | "
            f"{_mean_std(row['reference_mean'], row['reference_std'])}"
            f" | {row['diff']:.3f} | [{low:.3f}, {high:.3f}]{mark} |"
        )
    note = (
        f"95% CI of the difference: paired hierarchical bootstrap over the "
        f"{rows[0]['images'] if rows else 0} val "
        f"images and the seeds, {resamples} resamples (docs/comparisons.md); * = excludes 0."
    )
    if any(r["images_only"] for r in rows):
        note += (
            " A padding with one run: its interval is over images only"
            " (seed-to-seed spread unknown)."
        )
    return note + "\n\n" + "\n".join(lines)
