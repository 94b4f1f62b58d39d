"""The comparison as Markdown: table 5 layout with intervals, one sentence per headline column."""

from __future__ import annotations

from fractions import Fraction

from seg.evaluation.comparison import MODE_TITLES


def column_title(column: str) -> str:
    """Return a title, e.g. "tile/leave_out/7/8" -> "0 Tile overlap, centre 7/8 left out"."""
    mode, kind, rest = column.split("/", 2)
    title = MODE_TITLES.get(mode, mode)
    if kind == "leave_out":
        return title if Fraction(rest) == 0 else f"{title}, centre {rest} left out"
    return f"{title}, {kind.replace('_', ' ')} {rest} px"


def headline_columns(columns: list[str]) -> list[str]:
    """Return each mode's whole-image column, then the tile (else first) mode's leave-out ones."""
    modes = list(dict.fromkeys(c.split("/")[0] for c in columns))
    whole = [f"{m}/leave_out/0" for m in modes if f"{m}/leave_out/0" in columns]
    leave_mode = "tile" if "tile" in modes else modes[0]
    return whole + [
        c for c in columns if c.startswith(f"{leave_mode}/leave_out/") and c not in whole
    ]


def _num(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def _mean_std(group, k):
    std = group["std"][k]
    return _num(group["mean"][k]) + ("" if std is None else f" ± {_num(std)}")


def _interval(result, k, key="interval", cls=None):
    low, high = (
        (result[key][0][k], result[key][1][k])
        if cls is None
        else (result[key][0][k][cls], result[key][1][k][cls])
    )
    if low is None or high is None:
        return "-"
    return f"[{low:.2f}, {high:.2f}]" + (" *" if low > 0 or high < 0 else "")


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def table5(result, columns) -> str:
    """Return table 5's layout for `columns`: runs, mean ± std per group; the difference, its CI."""
    a, b = result["a"], result["b"]
    width = max(len(a["runs"]), len(b["runs"]))
    header = [
        "Column",
        "Group",
        *[str(i) for i in range(1, width + 1)],
        "mean ± std",
        f"diff ({b['name']} − {a['name']})",
        "95% CI",
    ]
    rows = []
    for column in columns:
        k = result["columns"].index(column)
        for group, last in ((a, False), (b, True)):
            scores = [_num(s[k]) for s in group["scores"]] + [""] * (width - len(group["scores"]))
            rows.append(
                [
                    column_title(column) if not last else "",
                    group["name"],
                    *scores,
                    _mean_std(group, k),
                    _num(result["diff"][k]) if last else "-",
                    _interval(result, k) if last else "",
                ]
            )
    return _table(header, rows)


def all_columns_table(result) -> str:
    """Return every column: each group's mean ± std, the difference and its interval."""
    a, b = result["a"], result["b"]
    header = ["Column", a["name"], b["name"], "diff", "95% CI"]
    rows = [
        [
            column_title(c),
            _mean_std(a, k),
            _mean_std(b, k),
            _num(result["diff"][k]),
            _interval(result, k),
        ]
        for k, c in enumerate(result["columns"])
    ]
    return _table(header, rows)


def per_class_table(result, column) -> str:
    """Return per-class IoU of one column: each group's mean over runs, the difference, its CI."""
    a, b = result["a"], result["b"]
    k = result["columns"].index(column)
    rows = [
        [
            name,
            _num(a["class_mean"][k][c]),
            _num(b["class_mean"][k][c]),
            _num(result["class_diff"][k][c]),
            _interval(result, k, "class_interval", c),
        ]
        for c, name in enumerate(result["classes"])
    ]
    return _table(["Class", a["name"], b["name"], "diff", "95% CI"], rows)


def scope(result) -> str:
    """Return what the intervals are over: resamples, seed, images, runs; one-run groups said so."""
    a, b = result["a"], result["b"]
    lines = [
        f"{b['name']} − {a['name']}: {len(a['runs'])} and {len(b['runs'])} runs, "
        f"{result['num_images']} images "
        f"(split {result['split']}, fold {result['fold']}). mIoU in %, mean ± sample std over "
        f"runs.",
        f"95% CI of the difference of means: paired hierarchical bootstrap, {result['resamples']} "
        f"resamples, "
        f"seed {result['seed']} (images resampled, the same draw for both groups; runs resampled "
        f"within each "
        f"group); * marks an interval that excludes 0.",
    ]
    for group in (a, b):
        if len(group["runs"]) == 1:
            lines.append(
                f"{group['name']} has one run: its seed-to-seed spread is unknown, so the "
                f"interval covers "
                f"the images only, not the seeds."
            )
    lines.append("Runs: " + "; ".join(f"{g['name']} = " + ", ".join(g["runs"]) for g in (a, b)))
    return "\n".join(lines)


def verdicts(result) -> list[str]:
    """Return one sentence per headline column: whether the interval resolves the difference."""
    a, b = result["a"]["name"], result["b"]["name"]
    out = []
    for column in headline_columns(result["columns"]):
        k = result["columns"].index(column)
        low, high, diff = result["interval"][0][k], result["interval"][1][k], result["diff"][k]
        if low is None or diff is None:
            out.append(f"{column_title(column)}: no score (no class occurs).")
        elif low > 0 or high < 0:
            side = "higher" if low > 0 else "lower"
            out.append(
                f"{column_title(column)}: resolved — {b} scores {side} than {a} by "
                f"{min(abs(low), abs(high)):.2f} "
                f"to {max(abs(low), abs(high)):.2f} points (95% CI of {diff:+.2f}) on these "
                f"images and seeds."
            )
        else:
            out.append(
                f"{column_title(column)}: not resolved — the 95% CI [{low:.2f}, {high:.2f}] of "
                f"{diff:+.2f} "
                f"holds 0, so these runs do not tell which padding scores higher."
            )
    return out


def comparison_markdown(result) -> str:
    """Return the whole report: scope, table 5 layout, every column, per-class IoU, the verdicts."""
    heads = headline_columns(result["columns"])
    parts = [
        "## Comparison",
        scope(result),
        "## mIoU (%), table 5 layout",
        table5(result, heads),
        "## Every column (leave-out, distance to border)",
        all_columns_table(result),
    ]
    for column in [c for c in heads if c.endswith("/leave_out/0")]:
        parts += [f"## Per-class IoU (%), {column_title(column)}", per_class_table(result, column)]
    parts += ["## What the intervals say", "\n".join(verdicts(result))]
    return "\n\n".join(parts) + "\n"
