"""Plots from recorded numbers: mIoU vs center leave-out proportion, IoU vs distance to border,
training curves.

Every point comes from an evaluation JSON (tools/evaluate.py --json) or a run's log.jsonl; nothing
is recomputed. Each figure function returns (figure, series) where series maps a line's label to its
{"x": [...], "y": [...]}, saved next to the PNG so the numbers behind a plot can be read back.
"""
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from seg.engine.logging import read_jsonl  # noqa: E402
from seg.evaluation.regions import parse_leave_out  # noqa: E402
from seg.evaluation.report import MODE_TITLES  # noqa: E402
from seg.utils.errors import BadValueError, MissingFileError

# bookkeeping, not curves to compare
LOG_SKIP = ("iteration", "time", "train/lr", "train/images_per_s")


def load_eval_runs(paths):
    """Return the run dicts of evaluation JSONs (one run per file, or {"runs": [...]}), each with a
    "name"."""
    runs = []
    for path in map(Path, paths):
        data = json.loads(path.read_text())
        for i, run in enumerate(data["runs"] if "runs" in data else [data]):
            if "mIoU" not in run:
                raise BadValueError(
                    f"{path}: no 'mIoU' key; expected the output of tools/evaluate.py --json"
                )
            runs.append(
                {**run, "name": run.get("name") or (path.stem if i == 0 else f"{path.stem}[{i}]")}
            )
    return runs


def load_logs(paths):
    """Return {run name: records} from run folders or log.jsonl files (the name is the run
    folder's)."""
    logs = {}
    for path in map(Path, paths):
        path = path / "log.jsonl" if path.is_dir() else path
        if not path.is_file():
            raise MissingFileError(
                f"{path} not found; pass a run folder (checkpoints/<run>) or its log.jsonl"
            )
        logs[path.parent.name] = read_jsonl(path)
    return logs


def _value(v):
    return math.nan if v is None else float(v)


def _label(run, mode, modes):
    return run["name"] if len(modes) == 1 else f"{run['name']} / {MODE_TITLES.get(mode, mode)}"


def _style(run_index, mode, modes):
    # One colour per run (zero vs partial), one line style per mode, so both groupings read at a
    # glance.
    return {
        "color": f"C{run_index % 10}",
        "linestyle": ("-", "--", ":", "-.")[modes.index(mode) % 4],
    }


def _finish(fig, ax, title, xlabel, ylabel):
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def leave_out_figure(runs):
    """Return (figure, series): each run's mIoU (%) against the proportion p of the p x p center
    left out."""
    modes = sorted(
        {m for run in runs for m, table in run.get("leave_out", {}).items() if len(table) > 1}
    )
    if not modes:
        raise BadValueError(
            "no leave-out table with more than one proportion; run tools/evaluate.py with "
            "--leave-out 0 1/3 1/2 2/3 3/4 7/8"
        )
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    series, ticks = {}, {}
    for r, run in enumerate(runs):
        for mode in modes:
            table = run.get("leave_out", {}).get(mode)
            if not table:
                continue
            points = sorted((float(parse_leave_out(p)), _value(v), p) for p, v in table.items())
            label = _label(run, mode, modes)
            series[label] = {"x": [x for x, _, _ in points], "y": [y for _, y, _ in points]}
            ax.plot(
                series[label]["x"],
                series[label]["y"],
                marker="o",
                label=label,
                **_style(r, mode, modes),
            )
            ticks.update({x: p for x, _, p in points})
    ax.set_xticks(sorted(ticks), [ticks[x] for x in sorted(ticks)])
    _finish(
        fig,
        ax,
        "mIoU vs center leave-out proportion",
        "center left out (p x p of the image)",
        "mIoU (%)",
    )
    return fig, series


def distance_figure(runs):
    """Return (figure, series): mIoU (%) per band of distance to the image border (and tile border)
    per run/mode."""
    kinds = [
        k
        for k in ("image_border", "tile_border")
        if any(run.get("distance", {}).get(k) for run in runs)
    ]
    if not kinds:
        raise BadValueError(
            "no distance tables in the evaluation JSONs; they come from tools/evaluate.py --json"
        )
    fig, axes = plt.subplots(
        1, len(kinds), figsize=(6.5 * len(kinds), 4.5), squeeze=False, layout="constrained"
    )
    series = {}
    for ax, kind in zip(axes[0], kinds):
        modes = sorted({m for run in runs for m in run.get("distance", {}).get(kind, {})})
        bands = []
        for r, run in enumerate(runs):
            for mode in modes:
                table = run.get("distance", {}).get(kind, {}).get(mode)
                if not table:
                    continue
                bands = bands or list(table)
                label = _label(run, mode, modes)
                x = list(range(len(table)))
                series[f"{kind}: {label}"] = {
                    "x": list(table),
                    "y": [_value(v) for v in table.values()],
                }
                ax.plot(
                    x,
                    series[f"{kind}: {label}"]["y"],
                    marker="o",
                    label=label,
                    **_style(r, mode, modes),
                )
        ax.set_xticks(range(len(bands)), bands)
        _finish(
            fig,
            ax,
            f"IoU vs distance to the nearest {kind.replace('_', ' ')}",
            "distance (px)",
            "mIoU (%)",
        )
    return fig, series


def _curve(records, tag):
    # A resumed run appends to log.jsonl and repeats some iterations: the later record wins.
    points = {r["iteration"]: r[tag] for r in records if tag in r}
    return sorted(points), [points[i] for i in sorted(points)]


def training_figure(logs):
    """Return (figure, series): one panel per logged scalar (train/loss, val/mIoU, ...), every run
    on each panel."""
    tags = list(
        dict.fromkeys(
            t for records in logs.values() for r in records for t in r if t not in LOG_SKIP
        )
    )
    if not tags:
        raise BadValueError(
            "the logs hold no scalars besides iteration/time; were they written by tools/train.py?"
        )
    fig, axes = plt.subplots(
        1, len(tags), figsize=(6 * len(tags), 4.2), squeeze=False, layout="constrained"
    )
    series = {}
    for ax, tag in zip(axes[0], tags):
        for name, records in logs.items():
            x, y = _curve(records, tag)
            if x:
                series[f"{tag}: {name}"] = {"x": x, "y": y}
                ax.plot(x, y, marker="o" if len(x) < 30 else None, markersize=3, label=name)
        _finish(fig, ax, tag, "iteration", tag.split("/")[-1])
    fig.suptitle("Training curves")
    return fig, series


def save_figure(fig, series, path):
    """Write the figure as a PNG and its series as <path>.json; return the PNG path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    # JSON has no NaN: missing values (classes absent from a band) are written as null.
    clean = {
        k: {
            a: [None if isinstance(v, float) and math.isnan(v) else v for v in vs]
            for a, vs in s.items()
        }
        for k, s in series.items()
    }
    path.with_suffix(".json").write_text(json.dumps(clean, indent=2) + "\n")
    return path


def load_comparison(path):
    """Return a comparison JSON of tools/compare.py or tools/sweep.py (comparison.json)."""
    data = json.loads(Path(path).read_text())
    if not {"a", "b", "columns"} <= set(data):
        raise ValueError(f"{path} is not a comparison JSON; tools/compare.py --json OUT and "
                         "tools/sweep.py write one")
    return data


def _band_lines(ax, comparison, columns, x, label_suffix, linestyle):
    # One line per group: the mean over its runs, and the group's 95% bootstrap band around it.
    series = {}
    for g, key in enumerate(("a", "b")):
        group = comparison[key]
        k = [comparison["columns"].index(c) for c in columns]
        y = [_value(group["mean"][i]) for i in k]
        low = [_value(group["interval"][0][i]) for i in k]
        high = [_value(group["interval"][1][i]) for i in k]
        label = f"{group['name']} ({len(group['runs'])} runs){label_suffix}"
        ax.plot(x, y, marker="o", color=f"C{g}", linestyle=linestyle, label=label)
        ax.fill_between(x, low, high, color=f"C{g}", alpha=0.2, linewidth=0)
        series[label] = {"x": list(x), "y": y, "low": low, "high": high}
    return series


def _modes_of(comparison, kind):
    modes = [c.split("/")[0] for c in comparison["columns"] if c.split("/")[1] == kind]
    return list(dict.fromkeys(modes))


def leave_out_band_figure(comparison):
    """Return (figure, series): each group's mean mIoU (%) vs center leave-out, 95% band."""
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    series, ticks = {}, {}

    def proportion(column):
        return parse_leave_out(column.split("/", 2)[2])

    columns = comparison["columns"]
    by_mode = {mode: sorted((c for c in columns if c.startswith(f"{mode}/leave_out/")),
                            key=proportion)
               for mode in _modes_of(comparison, "leave_out")}
    modes = [mode for mode, columns in by_mode.items() if len(columns) > 1]  # a curve needs two
    for m, mode in enumerate(modes):
        columns = by_mode[mode]
        labels = [c.split("/", 2)[2] for c in columns]
        x = [float(parse_leave_out(p)) for p in labels]
        ticks.update(zip(x, labels))
        suffix = "" if len(modes) == 1 else f", {MODE_TITLES.get(mode, mode)}"
        series.update(_band_lines(ax, comparison, columns, x, suffix, ("-", "--", ":")[m % 3]))
    if not series:
        raise ValueError("the comparison has no leave-out columns; evaluate with "
                         "--leave-out 0 1/3 1/2 2/3 3/4 7/8")
    ax.set_xticks(sorted(ticks), [ticks[x] for x in sorted(ticks)])
    _finish(fig, ax, "mIoU vs center leave-out (band: 95% bootstrap interval, seeds and images)",
            "center left out (p x p of the image)", "mIoU (%)")
    return fig, series


def distance_band_figure(comparison):
    """Return (figure, series): each group's mean mIoU (%) per distance band, with its 95% band."""
    kinds = [k for k in ("image_border", "tile_border") if _modes_of(comparison, k)]
    if not kinds:
        raise ValueError("the comparison has no distance-band columns")
    fig, axes = plt.subplots(1, len(kinds), figsize=(6.5 * len(kinds), 4.5), squeeze=False,
                             layout="constrained")
    series = {}
    for ax, kind in zip(axes[0], kinds):
        modes = _modes_of(comparison, kind)
        for m, mode in enumerate(modes):
            columns = [c for c in comparison["columns"] if c.startswith(f"{mode}/{kind}/")]
            suffix = "" if len(modes) == 1 else f", {MODE_TITLES.get(mode, mode)}"
            style = ("-", "--", ":")[m % 3]
            lines = _band_lines(ax, comparison, columns, list(range(len(columns))), suffix, style)
            series.update({f"{kind}: {k}": v for k, v in lines.items()})
            ax.set_xticks(range(len(columns)), [c.rsplit("/", 1)[1] for c in columns])
        where = kind.replace("_", " ")
        _finish(fig, ax, f"mIoU vs distance to the nearest {where}", "distance (px)", "mIoU (%)")
    return fig, series
