"""Two groups of evaluated runs compared as in the paper's table 5, with bootstrap intervals.

A group is a list of runs (seeds of one padding, say), each given by the per-image statistics
tools/evaluate.py saved. Every number printed -- each run's score, the mean +- sample std of a
group, the difference of means -- gets a 95% interval of the difference from the paired
hierarchical bootstrap of seg.evaluation.bootstrap, for every column (mode x leave-out
proportion, mode x distance band) and class.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seg.evaluation.bootstrap import bootstrap_groups, percentile_interval
from seg.evaluation.per_image import PerImageStats, load_per_image
from seg.utils.errors import UserError
from seg.utils.files import write_text_atomic

MODE_TITLES = {
    "regular": "Regular",
    "tile": "0 Tile overlap",
    "tile_overlap": "1/3 Tile overlap",
    "predictions": "Predictions",
}
IDENTITY = ("split", "fold", "data_root")  # what must agree, besides the image list, to pair runs


@dataclass
class Group:
    """Runs of one group: labels and per-image statistics, in the order given."""

    name: str
    labels: list[str]
    stats: list[PerImageStats]


def check_resamples(resamples: int) -> None:
    """Raises a UserError for a resample count too small for the 2.5% tails of a 95% interval."""
    if resamples < 100:
        raise UserError(f"--resamples {resamples} is too few for 2.5% tails; use 1000 or more")


def read_stats(path) -> list[tuple[str, PerImageStats]]:
    """Return [(label, stats)] of a run folder, an evaluation .json or a per-image .npz."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*_eval.npz"))
        if len(found) != 1:
            raise UserError(
                f"{path}: expected one *_eval.npz in the run folder, found {len(found)} — "
                f"evaluate its checkpoint with tools/evaluate.py --out {path}, or pass the .npz"
            )
        path = found[0]
    if path.suffix == ".npz":
        stats = load_per_image(path)
        return [(stats.meta.get("name") or path.stem, stats)]
    if path.suffix != ".json" or not path.is_file():
        raise UserError(
            f"{path}: not a run folder, evaluation .json or per-image .npz of tools/evaluate.py"
        )
    data = json.loads(path.read_text())
    out = []
    for run in data.get("runs", [data]):
        if "per_image" not in run:
            raise UserError(
                f"{path}: run {run.get('name', '?')} has no per-image statistics — evaluate it "
                f"again with tools/evaluate.py --out DIR or --json OUT, which write a .npz beside"
            )
        stats = load_per_image(run["per_image"])
        out.append((run.get("name") or stats.meta.get("name") or path.stem, stats))
    return out


def load_group(name, paths) -> Group:
    """Return the Group of every run found in `paths`."""
    runs = [run for path in paths for run in read_stats(path)]
    if not runs:
        raise UserError(f"group {name} has no runs")
    return Group(name, [label for label, _ in runs], [stats for _, stats in runs])


def check_pairable(groups) -> list[str]:
    """Return the columns all runs have; a UserError names a run scored on other images or data."""
    (ref_group, ref_label, ref) = (groups[0].name, groups[0].labels[0], groups[0].stats[0])
    for group in groups:
        for label, stats in zip(group.labels, group.stats):
            where = f"{group.name}/{label}"
            for key in IDENTITY:
                a, b = ref.meta.get(key), stats.meta.get(key)
                if a is not None and b is not None and a != b:
                    raise UserError(
                        f"{where} was evaluated with {key} {b}, {ref_group}/{ref_label} with "
                        f"{key} {a} "
                        f"— evaluate every run on the same {key} (tools/evaluate.py "
                        f"--{key.replace('_', '-')})"
                    )
            if stats.images != ref.images:
                extra = sorted(set(stats.images) - set(ref.images))[:2]
                missing = sorted(set(ref.images) - set(stats.images))[:2]
                detail = (
                    f"{len(stats.images)} vs {len(ref.images)} images"
                    if len(stats.images) != len(ref.images)
                    else "the same number of images in another order"
                    if not extra
                    else f"images {extra} instead of {missing}"
                )
                raise UserError(
                    f"{where} and {ref_group}/{ref_label} were evaluated on different images "
                    f"({detail}) "
                    f"— the comparison pairs images, so evaluate every run on the same split, "
                    f"fold and "
                    f"--num-images"
                )
            if stats.classes != ref.classes:
                raise UserError(
                    f"{where} scores classes {stats.classes[:3]}..., {ref_group}/{ref_label} "
                    f"{ref.classes[:3]}... — compare runs of the same label set"
                )
    columns = [c for c in ref.columns if all(c in s.columns for g in groups for s in g.stats)]
    if not columns:
        raise UserError(
            "the runs share no evaluation column (mode, leave-out, band) — evaluate them with the "
            "same "
            "--modes and --leave-out"
        )
    return columns


def _stack(group, columns):
    index = [[s.columns.index(c) for c in columns] for s in group.stats]
    return (
        np.stack([s.intersection[:, i] for s, i in zip(group.stats, index)]),
        np.stack([s.union[:, i] for s, i in zip(group.stats, index)]),
    )


def compare(group_a: Group, group_b: Group, *, resamples=2000, seed=0) -> dict:
    """Return every number of the comparison (B - A) as lists: runs, groups, difference, CIs."""
    columns = check_pairable([group_a, group_b])
    a, b = bootstrap_groups(
        [_stack(group_a, columns), _stack(group_b, columns)], resamples=resamples, seed=seed
    )
    diff = b.mean - a.mean
    low, high = percentile_interval(b.resampled - a.resampled)
    class_low, class_high = percentile_interval(b.class_resampled - a.class_resampled)
    class_diff = _nanmean(b.class_runs) - _nanmean(a.class_runs)

    def group_dict(group, stats):
        band_low, band_high = percentile_interval(stats.resampled)
        return {
            "name": group.name,
            "runs": group.labels,
            "seeds": [s.meta.get("seed") for s in group.stats],
            "scores": _plain(stats.runs),
            "mean": _plain(stats.mean),
            "std": _plain(stats.std),
            "interval": [_plain(band_low), _plain(band_high)],
            "class_mean": _plain(_nanmean(stats.class_runs)),
        }

    ref = group_a.stats[0]
    return {
        "a": group_dict(group_a, a),
        "b": group_dict(group_b, b),
        "columns": columns,
        "classes": ref.classes,
        "num_images": len(ref.images),
        "split": ref.meta.get("split"),
        "fold": ref.meta.get("fold"),
        "resamples": resamples,
        "seed": seed,
        "diff": _plain(diff),
        "interval": [_plain(low), _plain(high)],
        "class_diff": _plain(class_diff),
        "class_interval": [_plain(class_low), _plain(class_high)],
        "images_only": len(group_a.stats) == 1 or len(group_b.stats) == 1,
    }


def _nanmean(values):
    # Mean over runs of per-class IoU; NaN where the class occurs in no run's images.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, 0)


def _plain(array):
    """Return nested lists with None for NaN (JSON has no NaN)."""
    array = np.asarray(array, dtype=np.float64)
    return np.where(np.isnan(array), None, array).tolist()


def save_comparison(result: dict, path) -> Path:
    """Write the comparison as JSON (temporary file, then renamed); return the path."""
    return write_text_atomic(path, json.dumps(result, indent=1) + "\n")
