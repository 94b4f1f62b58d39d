"""Running the diagnostics under several padding modes and writing their tables and plots."""
import json
import pathlib
import time

import matplotlib.pyplot as plt
import torch

from seg.diagnostics.border import border_figure, border_profile, border_table
from seg.diagnostics.inputs import default_layers, takes_valid
from seg.diagnostics.invariance import invariance_figure, invariance_table, padding_invariance
from seg.diagnostics.position import position_figure, position_probe, position_table
from seg.diagnostics.shift import shift_consistency, shift_figure, shift_table
from seg.layers import padding_mode
from seg.utils.errors import UserError
from seg.utils.files import write_atomic, write_text_atomic

DIAGNOSTICS = ("shift", "position", "border", "invariance")
TITLES = {"shift": "Shift consistency", "position": "Position probe",
          "border": "Border activation profile", "invariance": "Padding invariance"}
_TABLES = {"shift": shift_table, "position": position_table, "border": border_table,
           "invariance": invariance_table}
_FIGURES = {"shift": shift_figure, "position": position_figure, "border": border_figure,
            "invariance": invariance_figure}


def run_diagnostics(model, images, *, modes, which=DIAGNOSTICS, layers=None,
                    probe_inputs=None, shifts=(1, 4, 8, 16), margins=(8, 12),
                    log=print) -> dict:
    """Returns {diagnostic: {mode: result}, "seconds": {diagnostic: CPU seconds}, "skipped":
    {mode: reason}} for model (eval mode) under each padding mode; the model's own modes are
    restored afterwards. CPU seconds of this process: with one thread, one core's time,
    whatever else the machine runs.

    images: (N, 3, H, W) normalised images; probe_inputs: {kind: images} for the position probe
    (default: the images alone, as kind 'real'); layers: module names for the feature
    diagnostics (default seg.diagnostics.inputs.default_layers).
    """
    unknown = [name for name in which if name not in DIAGNOSTICS]
    if unknown:
        raise UserError(f"unknown diagnostics {unknown}; choose from {', '.join(DIAGNOSTICS)}")
    model.eval()
    layers = layers or default_layers(model)
    probe_inputs = probe_inputs or {"real": images}
    results = {name: {} for name in which}
    seconds = {name: 0.0 for name in which}
    skipped = {}
    for mode in modes:
        with padding_mode(model, mode), torch.no_grad():
            try:
                for name in which:
                    start = time.process_time()
                    _run_one(name, mode, model, images, layers, probe_inputs, shifts, margins,
                             results)
                    seconds[name] += time.process_time() - start
                    log(f"{mode:>9} {name:<10} {time.process_time() - start:6.1f} CPU s")
            except RuntimeError as error:
                # reflect and circular padding cannot pad more than the map is wide (an ASPP
                # dilation of 36 on a 16-pixel map): that mode does not exist at this size.
                if "padding" not in str(error).lower() and "pad" not in str(error).lower():
                    raise
                skipped[mode] = str(error).splitlines()[0]
                log(f"{mode:>9} not run at this input size: {skipped[mode]}")
                for name in which:
                    results[name].pop(mode, None)
    results["seconds"] = seconds
    results["skipped"] = skipped
    return results


def _run_one(name, mode, model, images, layers, probe_inputs, shifts, margins, results):
    if name == "shift":
        results[name][mode] = shift_consistency(model, images, shifts)
    elif name == "position":
        results[name][mode] = position_probe(model, probe_inputs, layers)
    elif name == "border":
        results[name][mode] = border_profile(model, images, layers)
    else:
        results[name][mode] = padding_invariance(model, images, margins)
        if mode == "partial" and takes_valid(model):
            results[name]["partial, no mask"] = padding_invariance(model, images, margins,
                                                                   use_valid=False)


def write_report(results: dict, out, *, header: str = "") -> list:
    """Returns the files written under out (a new or empty folder): per diagnostic a Markdown
    table <name>.md and a plot <name>.png, and everything in diagnostics.json."""
    out = pathlib.Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} already holds files; pass a new --out folder so no earlier run "
                        "is overwritten")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DIAGNOSTICS:
        if name not in results:
            continue
        if not results[name]:
            continue  # no mode ran
        text = f"## {TITLES[name]}\n\n{header}{_TABLES[name](results[name])}"
        for mode, reason in results.get("skipped", {}).items():
            text += f"\nNot run in {mode} mode at this input size: {reason}\n"
        table = out / f"{name}.md"
        write_text_atomic(table, text)
        figure = _FIGURES[name](results[name])
        plot = out / f"{name}.png"
        write_atomic(plot, lambda tmp, figure=figure: figure.savefig(tmp, dpi=80, format="png"))
        plt.close(figure)
        written += [table, plot]
    data = out / "diagnostics.json"
    write_text_atomic(data, json.dumps(_plain(results), indent=1))
    return written + [data]


def _plain(value):
    """Returns value with dict keys as strings and tuples as lists (JSON)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
