"""The ablation as Markdown: padding in the crops, gaps and their changes, the position probe."""

from __future__ import annotations

from seg.evaluation.comparison_report import column_title, headline_columns
from seg.evaluation.interaction import excludes_zero


def _num(value, digits=2, sign=False):
    return "-" if value is None else f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _ci(entry, k, digits=2):
    low, high = entry["interval"][0][k], entry["interval"][1][k]
    if low is None or high is None:
        return "-"
    mark = " *" if excludes_zero(entry, k) else ""
    return f"{_num(entry['value'][k], digits, True)} [{low:.{digits}f}, {high:.{digits}f}]{mark}"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def scope(result) -> str:
    ref, other = result["paddings"]
    seeds = {len(arm["groups"][ref]["runs"]) for arm in result["arms"].values()}
    return (
        f"{other} − {ref} in every arm; {' or '.join(map(str, sorted(seeds)))} seeds per padding "
        f"and arm, {result['num_images']} images (split {result['split']}, fold "
        f"{result['fold']}); mIoU in %, mean ± sample std over seeds. 95% intervals from one "
        f"paired hierarchical bootstrap of every arm and padding ({result['resamples']} "
        f"resamples, seed {result['seed']}: images resampled with one draw for all, runs within "
        f"each group); * marks an interval that excludes 0. Gap change = the arm's gap minus the "
        f"gap of the base arm `{result['base']}`."
    )


def crop_table(result) -> str:
    rows = []
    for arm in result["order"]:
        share = result["crop_padding"].get(arm)
        overrides = " ".join(f"`{o}`" for o in result["overrides"].get(arm, [])) or "the recipe"
        rows.append([arm, overrides,
                     "-" if share is None else f"{100 * share['pixels']:.2f}",
                     "-" if share is None else f"{100 * share['crops']:.1f}"])
    return _table(["arm", "overrides", "padding, % of crop pixels", "crops with padding, %"],
                  rows)


def gap_table(result, column) -> str:
    ref, other = result["paddings"]
    k = result["columns"].index(column)
    rows = []
    for name in result["order"]:
        arm = result["arms"][name]

        def group(padding):
            g = arm["groups"][padding]
            std = g["std"][k]
            return _num(g["mean"][k]) + ("" if std is None else f" ± {_num(std)}")

        change = arm.get("gap_change")
        own = arm.get("padding_change", {})
        rows.append([name, group(ref), group(other), _ci(arm["gap"], k),
                     "base" if change is None else _ci(change, k),
                     "-" if ref not in own else _ci(own[ref], k),
                     "-" if other not in own else _ci(own[other], k)])
    return _table(["arm", ref, other, f"gap {other} − {ref} [95% CI]",
                   "gap change [95% CI]", f"{ref}: arm − base", f"{other}: arm − base"], rows)


def verdicts(result) -> list[str]:
    """Return one sentence per arm: in which headline columns its gap change is resolved."""
    heads = headline_columns(result["columns"])
    out = []
    for name in result["order"]:
        arm = result["arms"][name]
        if "gap_change" not in arm:
            continue
        index = result["columns"].index
        resolved = [c for c in heads if excludes_zero(arm["gap_change"], index(c))]
        if not resolved:
            out.append(f"`{name}`: the gap change holds 0 in every headline column — these runs "
                       f"do not show that this factor changes the gap.")
        else:
            parts = [f"{column_title(c)} {_ci(arm['gap_change'], result['columns'].index(c))}"
                     for c in resolved]
            out.append(f"`{name}`: the gap changes in {len(resolved)} of {len(heads)} headline "
                       f"columns: " + "; ".join(parts) + ".")
    return out


def probe_table(rows, paddings) -> str:
    ref, other = paddings
    body = []
    for row in rows:
        low, high = row["interval"]
        mark = " *" if low > 0 or high < 0 else ""
        body.append([
            row["kind"], row["layer"].replace("backbone.", ""),
            f"{row['mean'][0]:.3f} ± {row['std'][0]:.3f}",
            f"{row['mean'][1]:.3f} ± {row['std'][1]:.3f}",
            f"{row['diff']:+.3f} [{low:.3f}, {high:.3f}]{mark}", f"{row['baseline']:.3f}"])
    return _table(["input", "layer", f"{ref} model", f"{other} model",
                   f"{other} − {ref} [95% CI]", "constant baseline"], body)


def ablation_markdown(result) -> str:
    parts = ["## Ablation", scope(result), "## Padding in the training crops", crop_table(result)]
    for column in headline_columns(result["columns"]):
        parts += [f"## {column_title(column)}", gap_table(result, column)]
    parts += ["## What the intervals say", "\n".join(verdicts(result))]
    for arm, rows in result.get("probe", {}).items():
        runs = rows[0]["runs"] if rows else [0, 0]
        parts += [
            f"## Position probe, arm `{arm}`",
            f"Mean absolute error of the probe's x, y in [0, 1] (lower = more absolute position "
            f"in the features), each model in its own padding; mean ± std over {runs[0]} and "
            f"{runs[1]} models; 95% CI of the difference over models and the "
            f"{rows[0]['images'] if rows else 0} held-out images of each kind.",
            probe_table(rows, result["paddings"]),
        ]
    return "\n\n".join(parts) + "\n"
