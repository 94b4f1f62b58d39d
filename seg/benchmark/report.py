"""Markdown tables of the benchmark results (the paper's Table 1 layout) and overhead budgets."""
from typing import List

from seg.utils.timing import relative

_LABELS = {"zero": "zero", "zero (A/A)": "zero (A/A control)", "partial (1st)": "partial (1st)",
           "partial": "partial (2nd - nth)", "maskconv (1st)": "maskconv (1st)",
           "maskconv": "maskconv (2nd - nth)", "mask 7/8": "partial + mask 7/8",
           "mask -8px": "partial + mask -8px", "partial (fused)": "partial (2nd - nth, fused)",
           "partial (strips)": "partial (2nd - nth, strips)", "zero (compiled)": "zero (compiled)",
           "partial (compiled)": "partial (compiled)",
           "zero (compiled, A/A)": "zero (compiled, A/A control)"}


def _pct(relative) -> str:
    return f"{100 * (1 + relative[0]):.2f}%"


def table1(blocks: List[dict]) -> str:
    """Returns the inference blocks as one Markdown table in the paper's Table 1 layout."""
    lines = ["| network | input (NxHxW) | running time (ms) | relative | IQR (pp) |",
             "|---|---|---:|---:|---:|"]
    for block in blocks:
        case = block["case"]
        size = f"{case['batch']}x{case['height']}x{case['width']}"
        for variant, ms in block["ms"].items():
            rel = block["relative"][variant]
            iqr = "" if variant in ("zero", "zero (compiled)") else f"{100 * rel[1]:.1f}"
            lines.append(f"| {case['model']}_{_LABELS[variant]} | {size} | {ms:.1f} "
                         f"| {_pct(rel)} | {iqr} |")
    return "\n".join(lines)


def training_table(result: dict) -> str:
    """Returns the training step time and peak memory as a Markdown table."""
    case = result["case"]
    memory = result["memory"]
    base = memory["zero"]
    lines = [f"Training step of {case['model']}, batch {case['batch']}, "
             f"{case['height']}x{case['width']} (peak memory: {base['how']})",
             "| variant | step (ms) | relative | IQR (pp) | peak (MiB) | relative "
             "| peak above set-up (MiB) | relative |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for variant, ms in result["ms"].items():
        rel = result["relative"][variant]
        cells = ["", "", "", ""]
        if variant in memory:
            m = memory[variant]
            cells = [f"{m['peak_mib']:.0f}", f"{100 * m['peak_mib'] / base['peak_mib']:.2f}%",
                     f"{m['above_setup_mib']:.0f}",
                     f"{100 * m['above_setup_mib'] / base['above_setup_mib']:.2f}%"]
        iqr = "" if variant == "zero" else f"{100 * rel[1]:.1f}"
        lines.append(f"| {variant} | {ms:.1f} | {_pct(rel)} | {iqr} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def target_rows(blocks: List[dict], training: dict) -> List[dict]:
    """Returns [{"target", "measured", "limit", "holds"}]: each overhead (%) against its budget.

    Partial padding should cost at most 2% over zero padding at inference and 3% in training
    (time and memory 2%); carrying a valid mask at most 5% over the padding mode alone.
    """
    rows = []

    def add(target, measured, limit):
        rows.append({"target": target, "measured": 100 * measured, "limit": limit,
                     "holds": 100 * measured <= limit})

    for block in blocks:
        name = block["case"]["model"]
        rel = block["relative"]
        add(f"{name} partial vs zero, steady", rel["partial"][0], 2.0)
        add(f"{name} partial vs zero, 1st iteration", rel["partial (1st)"][0], 2.0)
        if "mask 7/8" in rel:
            for mask in ("mask 7/8", "mask -8px"):
                add(f"{name} {mask} vs padding mode (inference)",
                    relative(block["raw_s"], mask, "partial")[0], 5.0)
    if training:
        rel, memory = training["relative"], training["memory"]
        add("training step partial vs zero", rel["partial"][0], 3.0)
        add("training step mask on vs off",
            relative(training["raw_s"], "partial+mask", "partial")[0], 5.0)
        for key, label in (("peak_mib", "peak memory"), ("above_setup_mib", "peak above set-up")):
            add(f"training {label} partial vs zero",
                memory["partial"][key] / memory["zero"][key] - 1, 2.0)
    return rows


def targets_table(rows: List[dict]) -> str:
    """Returns the overhead budgets as a Markdown table."""
    lines = ["| target | measured | limit | holds |", "|---|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['target']} | {r['measured']:+.2f}% | {r['limit']:.0f}% "
                     f"| {'yes' if r['holds'] else 'no'} |")
    return "\n".join(lines)


def op_count_table(blocks: List[dict]) -> str:
    """Returns the operations dispatched per forward as one Markdown table, with the budget of
    the launch-bound (fused) path: at most 1 extra operation per padded conv."""
    lines = ["| network | forward | input (NxHxW) | padded convs | zero | partial strips "
             "| partial fused | maskconv | extra per padded conv: strips / fused / maskconv "
             "| fused <= 1 |",
             "|---|---|---|---:|---:|---:|---:|---:|---|---|"]
    for block in blocks:
        for forward in ("inference", "training"):
            counts, shape = block[forward], block[f"{forward}_input"]
            convs = block["padded_convs"]
            extra = {name: (n - counts["zero"]) / convs for name, n in counts.items()}
            cells = " / ".join(f"{extra[name]:.2f}" for name in
                               ("partial strips", "partial fused", "maskconv"))
            lines.append(
                f"| {block['model']} | {forward} | {'x'.join(map(str, shape))} | {convs} "
                f"| {counts['zero']} | {counts['partial strips']} | {counts['partial fused']} "
                f"| {counts['maskconv']} | {cells} "
                f"| {'yes' if extra['partial fused'] <= 1 else 'no'} |")
    return "\n".join(lines)
