"""Cross testing (paper table 4): each checkpoint evaluated under every padding mode.

The padding modes share all parameters, so a network trained with one padding runs unchanged with
another; only the border arithmetic differs. The result is a training-padding x inference-padding
matrix: one row per checkpoint, and the mean over the runs of each (architecture, training padding)
with its drop against the padding it was trained with (the paper's `diff`).
"""
from __future__ import annotations

import pathlib
import statistics

from seg.classification.checkpoint import load_classifier
from seg.classification.config import repo_path
from seg.classification.data import build_val_set
from seg.classification.evaluate import evaluate_classifier
from seg.layers import padding_mode

DEFAULT_MODES = ("zeros", "partial", "reflect", "replicate")  # the paper's four schemes


def run_name(checkpoint) -> str:
    """Returns the run a checkpoint belongs to: its folder's name (checkpoints/<run>/best.pth)."""
    return pathlib.Path(checkpoint).resolve().parent.name


def cross_test(
    checkpoints,
    *,
    modes=DEFAULT_MODES,
    data_root=None,
    device="cpu",
    batch_size: int = 64,
    max_images: int | None = None,
    num_workers: int = 0,
    progress: bool = False,
) -> dict:
    """Returns {"modes", "rows", "groups"}: top-1/top-5 of every checkpoint under every padding
    mode.

    Each checkpoint is evaluated on the val folder of its own config (or `data_root`) with its own
    eval resize and crop. rows: {"checkpoint", "run", "model", "trained_padding", "top1": {mode: %},
    "top5": {mode: %}}; groups: see group_means.
    """
    rows, val_sets = [], {}
    for path in checkpoints:
        model, config = load_classifier(path, map_location=device)
        model.to(device)
        d = config["data"]
        root = repo_path(data_root or d["root"])
        key = (str(root), d["eval_resize"], d["eval_crop"], max_images)
        if key not in val_sets:
            val_sets[key] = build_val_set(
                root, resize=d["eval_resize"], crop=d["eval_crop"], max_images=max_images
            )
        row = {"checkpoint": str(path), "run": run_name(path), "model": config["model"]["name"],
               "trained_padding": config["model"]["padding"], "top1": {}, "top5": {}}
        for mode in modes:
            with padding_mode(model, mode):
                result = evaluate_classifier(
                    model,
                    val_sets[key],
                    device=device,
                    batch_size=batch_size,
                    num_workers=num_workers,
                    progress=progress,
                )
            row["top1"][mode], row["top5"][mode] = result["top1"], result["top5"]
        rows.append(row)
    return {"modes": list(modes), "rows": rows, "groups": group_means(rows, modes)}


def group_means(rows: list[dict], modes) -> list[dict]:
    """Returns one entry per (model, training padding): {"network", "runs", "top1": {mode: mean},
    "per_run": {mode: [top-1 of each run]}, "diff": {mode: mean minus the mean under the training
    padding}}."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["model"], row["trained_padding"]), []).append(row)
    out = []
    for (model, trained), members in groups.items():
        per_run = {mode: [r["top1"][mode] for r in members] for mode in modes}
        means = {mode: statistics.fmean(values) for mode, values in per_run.items()}
        own = means.get(trained)
        out.append({"network": f"{model}_{trained}", "model": model, "trained_padding": trained,
                    "runs": [r["run"] for r in members], "top1": means, "per_run": per_run,
                    "diff": {mode: (None if own is None else means[mode] - own) for mode in modes}})
    return out


def to_markdown(result: dict) -> str:
    """Returns the matrix per checkpoint, the mean matrix, and the paper's table 4 layout, as
    Markdown."""
    modes = result["modes"]
    lines = [
        "Top-1 (%) per checkpoint; columns: inference padding",
        "",
        "| Run | Training padding | " + " | ".join(modes) + " |",
        "|---|---|" + "---|" * len(modes),
    ]
    for row in result["rows"]:
        lines.append(f"| {row['run']} | {row['trained_padding']} | "
                     + " | ".join(f"{row['top1'][m]:.3f}" for m in modes) + " |")
    lines += [
        "",
        "Mean top-1 (%) over runs; rows: training, columns: inference (diff vs the training "
        "padding)",
        "",
        "| Training | " + " | ".join(modes) + " |",
        "|---|" + "---|" * len(modes),
    ]
    for group in result["groups"]:
        cells = [
            f"{group['top1'][m]:.3f}"
            + (
                ""
                if group["diff"][m] is None or m == group["trained_padding"]
                else f" ({group['diff'][m]:+.3f})"
            )
            for m in modes
        ]
        lines.append(f"| {group['network']} | " + " | ".join(cells) + " |")
    width = max((len(g["runs"]) for g in result["groups"]), default=0)
    lines += [
        "",
        "Table 4 layout",
        "",
        "| Training | Inference | "
        + " | ".join(str(i) for i in range(1, width + 1))
        + " | average | diff |",
        "|---|---|" + "---|" * (width + 2),
    ]
    for group in result["groups"]:
        order = [group["trained_padding"]] + [m for m in modes if m != group["trained_padding"]]
        for mode in (m for m in order if m in modes):
            runs = [f"{v:.3f}" for v in group["per_run"][mode]] + [""] * (
                width - len(group["runs"])
            )
            own = mode == group["trained_padding"] or group["diff"][mode] is None
            diff = "-" if own else f"{group['diff'][mode]:.3f}"
            lines.append(f"| {group['network']} | {group['model']}_{mode} | " + " | ".join(runs)
                         + f" | {group['top1'][mode]:.3f} | {diff} |")
    return "\n".join(lines)
