"""The paper's tables 2 and 3 from run summaries: runs as columns, average, diff vs zero padding,
stdev.

One row per (architecture, padding), e.g. resnet50_partial; its columns are the runs' best top-1
(table 2) or last-5-epoch mean (table 3), ordered by seed. `diff` is the row's average minus the
average of the zero-padding row of the same architecture.

Which standard deviation: the sample one (n - 1), statistics.stdev. The paper's tables are not
consistent here: their reflect and replicate rows match the sample stdev (e.g. vgg16BN_ref 0.122),
but every zero and partial row matches sqrt(sum of squares / 6) — a population stdev over six
numbers, as a spreadsheet gives when its range also takes the average column (vgg16BN_zero
73.986 73.826 73.610 73.778 73.204: sample 0.298, population 0.267, printed 0.244). The sample
stdev of 5 runs is sqrt(6/4) ~ 1.22 times those printed values; `stdev="population"` is offered for
comparison with other tools. tests/test_classification_aggregate.py checks both against the paper.
"""
from __future__ import annotations

import json
import math
import statistics

from seg.classification.models import PAPER_MODELS
from seg.utils.errors import BadValueError

TABLES = {"best": "best_top1", "last5_avg": "last5_top1"}  # column suffix -> run summary key
PADDING_ORDER = ("zeros", "partial", "reflect", "replicate", "circular")  # the paper's row order


def spread(values: list[float], kind: str = "sample") -> float | None:
    """Returns the sample (n - 1) or population (n) standard deviation; None for a single run."""
    if kind not in ("sample", "population"):
        raise BadValueError(f"stdev={kind!r}: use 'sample' or 'population'")
    if len(values) < 2:
        return None
    return statistics.stdev(values) if kind == "sample" else statistics.pstdev(values)


def _row_order(row_key: tuple[str, str]) -> tuple:
    model, padding = row_key
    paper = PAPER_MODELS.index(model) if model in PAPER_MODELS else len(PAPER_MODELS)
    return (
        paper,
        model,
        PADDING_ORDER.index(padding) if padding in PADDING_ORDER else len(PADDING_ORDER),
        padding,
    )


def aggregate(runs: list[dict], table: str = "best", *, stdev: str = "sample") -> dict:
    """Returns {"table", "columns", "rows"} of table 2 ("best") or 3 ("last5_avg") from read_run
    summaries.

    Each row: {"network", "model", "padding", "runs", "run_names", "average", "diff", "stdev"};
    diff is None for the zero-padding row itself and for architectures without one.
    """
    if table not in TABLES:
        raise BadValueError(f"table={table!r}: use one of {', '.join(TABLES)}")
    key = TABLES[table]
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["model"], run["padding"]), []).append(run)
    rows = []
    for model, padding in sorted(groups, key=_row_order):
        members = sorted(groups[(model, padding)], key=lambda r: (r["seed"], r["name"]))
        values = [r[key] for r in members]
        rows.append(
            {
                "network": f"{model}_{padding}",
                "model": model,
                "padding": padding,
                "runs": values,
                "run_names": [r["name"] for r in members],
                "average": statistics.fmean(values),
                "stdev": spread(values, stdev),
            }
        )
    zero_average = {r["model"]: r["average"] for r in rows if r["padding"] == "zeros"}
    for row in rows:
        has_zero = row["model"] in zero_average and row["padding"] != "zeros"
        row["diff"] = row["average"] - zero_average[row["model"]] if has_zero else None
    width = max((len(r["runs"]) for r in rows), default=0)
    return {
        "table": table,
        "stdev": stdev,
        "columns": [f"{i}_{table}" for i in range(1, width + 1)],
        "rows": rows,
    }


def _cell(value, digits: int = 3) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def to_markdown(result: dict) -> str:
    """Returns the table as Markdown, laid out like the paper's tables 2 and 3."""
    header = ["Network", *result["columns"], "average", "diff", "stdev"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result["rows"]:
        runs = [_cell(v) for v in row["runs"]] + [""] * (len(result["columns"]) - len(row["runs"]))
        diff = "-" if row["padding"] == "zeros" else _cell(row["diff"])
        cells = [row["network"], *runs, _cell(row["average"]), diff, _cell(row["stdev"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def aggregate_tables(runs: list[dict], *, stdev: str = "sample") -> dict:
    """Returns {"best": table 2, "last5_avg": table 3} (each as from aggregate)."""
    return {table: aggregate(runs, table, stdev=stdev) for table in TABLES}


def tables_to_json(tables: dict) -> str:
    """Returns the tables of aggregate_tables as indented JSON."""
    return json.dumps(tables, indent=2)
