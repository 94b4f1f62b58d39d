"""Markdown tables in the paper's layout (tables 6 and 7), rows = evaluated checkpoints.

Each run is a results dict from `evaluate` / `evaluate_predictions` with a "name" added.
"""

MODE_TITLES = {"regular": "Regular", "tile": "0 Tile overlap", "tile_overlap": "1/3 Tile overlap",
               "predictions": "Predictions"}


def _fmt(value):
    return "-" if value is None else f"{value:.3f}"


def _diff(a, b):
    return None if a is None or b is None else b - a


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _modes(runs):
    seen = [m for run in runs for m in run["mIoU"]]
    return [m for m in MODE_TITLES if m in seen] + [
        m for m in dict.fromkeys(seen) if m not in MODE_TITLES
    ]


def mode_table(runs):
    """Return table 6: mIoU (%) per run (rows) and mode (columns)."""
    modes = _modes(runs)
    rows = [[run["name"]] + [_fmt(run["mIoU"].get(m)) for m in modes] for run in runs]
    return _table(["Run"] + [MODE_TITLES.get(m, m) for m in modes], rows)


def leave_out_mode(runs):
    """Return the mode the leave-out table uses: non-overlapping tiles as in the paper, else the
    first one."""
    modes = _modes(runs)
    return "tile" if "tile" in modes else modes[0]


def leave_out_table(runs):
    """Return table 7: the regular mIoU, then mIoU with the center p x p left out; a diff row for
    two runs."""
    mode = leave_out_mode(runs)
    proportions = list(dict.fromkeys(p for run in runs for p in run["leave_out"].get(mode, {})))
    with_regular = mode != "regular" and all("regular" in run["mIoU"] for run in runs)
    header = (
        ["Run"]
        + (["regular"] if with_regular else [])
        + [p if p == "0" else f"{p} x {p}" for p in proportions]
    )
    values = [
        ([run["mIoU"]["regular"]] if with_regular else [])
        + [run["leave_out"][mode].get(p) for p in proportions]
        for run in runs
    ]
    rows = [[run["name"]] + [_fmt(v) for v in vals] for run, vals in zip(runs, values)]
    if len(runs) >= 2:
        rows.append([f"diff ({runs[1]['name']} - {runs[0]['name']})"]
                    + [_fmt(_diff(a, b)) for a, b in zip(values[0], values[1])])
    title = f"Center leave-out mIoU (%), {MODE_TITLES.get(mode, mode)} predictions"
    return f"{title}\n\n" + _table(header, rows)


def distance_tables(runs):
    """Return one table per distance kind: mIoU (%) per band of distance to the image / tile
    border."""
    out = []
    for kind in ("image_border", "tile_border"):
        entries = [
            (run, m) for run in runs for m in _modes(runs) if m in run["distance"].get(kind, {})
        ]
        if not entries:
            continue
        bands = list(next(iter(entries))[0]["distance"][kind][entries[0][1]])
        rows = [
            [f"{run['name']} / {MODE_TITLES.get(m, m)}"]
            + [_fmt(run["distance"][kind][m][b]) for b in bands]
            for run, m in entries
        ]
        title = f"mIoU (%) by distance to the nearest {kind.replace('_', ' ')} (px)"
        out.append(f"{title}\n\n" + _table(["Run / mode"] + bands, rows))
    return "\n\n".join(out)


def per_class_table(runs):
    """Return per-class IoU (%): rows are classes, columns run / mode."""
    columns = [(run, m) for run in runs for m in _modes(runs) if m in run["per_class_iou"]]
    classes = runs[0]["classes"]
    rows = [[c] + [_fmt(run["per_class_iou"][m][c]) for run, m in columns] for c in classes]
    rows.append(["mIoU"] + [_fmt(run["mIoU"][m]) for run, m in columns])
    return _table(
        ["Class"] + [f"{run['name']} / {MODE_TITLES.get(m, m)}" for run, m in columns], rows
    )


def markdown_report(runs):
    """Return the full Markdown report: modes, leave-out, distance bands and per-class IoU."""
    parts = ["## mIoU (%) by evaluation mode", mode_table(runs)]
    if any(len(run["leave_out"].get(leave_out_mode(runs), {})) > 1 for run in runs):
        parts += ["## Center leave-out", leave_out_table(runs)]
    parts += [
        "## Distance to border",
        distance_tables(runs),
        "## Per-class IoU (%)",
        per_class_table(runs),
    ]
    return "\n\n".join(parts) + "\n"
