"""One training run's numbers: top-1/top-5 per epoch, the best top-1 and the mean of the last 5
epochs.

Read back from the run folder the engine wrote: log.jsonl (val/top1 and val/top5 at the
iterations where validation ran) and run.json (the config and the iterations of one epoch, written
by seg.classification.train at start). "best" is the highest validation top-1 of the run (the
paper's table 2); "last5_avg" the mean top-1 of the last 5 evaluated epochs (table 3, after Wu et
al.).
"""
from __future__ import annotations

import json
import pathlib
import statistics

from seg.engine.logging import read_jsonl
from seg.utils.errors import BadValueError, MissingFileError

RUN_INFO = "run.json"
SUMMARY = "summary.json"
LAST_EPOCHS = 5  # the paper's last_5avg


def epoch_accuracies(log_records: list[dict], iterations_per_epoch: int) -> list[dict]:
    """Returns [{"epoch", "top1", "top5"}] sorted by epoch, one per validated iteration.

    A resumed run can log the same iteration twice (validated, killed before the next last.pth,
    resumed from the earlier one): the later record wins, as it belongs to the weights that went on.
    """
    by_iteration = {}
    for record in log_records:
        if "val/top1" in record:
            by_iteration[record["iteration"]] = record
    return [{"epoch": it / iterations_per_epoch, "top1": r["val/top1"], "top5": r.get("val/top5")}
            for it, r in sorted(by_iteration.items())]


def best_and_last_mean(top1: list[float], last: int = LAST_EPOCHS) -> tuple[float, float]:
    """Returns (highest top-1, mean top-1 of the last `last` entries) of a run's per-epoch list."""
    if not top1:
        raise BadValueError("the run has no validation results yet")
    return max(top1), statistics.fmean(top1[-last:])


def read_run(run_dir) -> dict:
    """Returns the summary of one run folder: name, model, padding, seed, epochs, best_top1,
    last5_top1."""
    run_dir = pathlib.Path(run_dir)
    info_path, log_path = run_dir / RUN_INFO, run_dir / "log.jsonl"
    for path in (info_path, log_path):
        if not path.is_file():
            raise MissingFileError(
                f"{path} not found — {run_dir} is not a run folder of tools/train_classifier.py"
            )
    info = json.loads(info_path.read_text())
    epochs = epoch_accuracies(read_jsonl(log_path), info["iterations_per_epoch"])
    if not epochs:
        raise BadValueError(
            f"{log_path} has no val/top1 record — the run has not finished its first epoch"
        )
    best, last_mean = best_and_last_mean([e["top1"] for e in epochs])
    model = info["config"]["model"]
    return {
        "name": run_dir.name,
        "run_dir": str(run_dir),
        "model": model["name"],
        "padding": model["padding"],
        "seed": info["config"]["train"]["seed"],
        "epochs": epochs,
        "best_top1": best,
        "last5_top1": last_mean,
        "last_epochs": min(LAST_EPOCHS, len(epochs)),
    }


def write_summary(run_dir, summary: dict) -> pathlib.Path:
    """Returns the path of <run_dir>/summary.json after writing `summary` (from read_run) to it."""
    path = pathlib.Path(run_dir) / SUMMARY
    path.write_text(json.dumps(summary, indent=2))
    return path
