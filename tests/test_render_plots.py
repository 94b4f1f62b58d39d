"""Plots are drawn from the evaluation JSON and log.jsonl numbers as written, never recomputed."""
import json

import numpy as np
import pytest

from seg.visualize.plots import (
    distance_figure,
    leave_out_figure,
    load_eval_runs,
    load_logs,
    save_figure,
    training_figure,
)

BANDS = ["0-16", "16-32", "32-64", "64-128", "128-256", "256+"]


def eval_run(name, padding, offset):
    """A results dict shaped like tools/evaluate.py --json output (hand-written numbers)."""
    leave_out = {
        "0": 70.0 + offset,
        "1/3": 68.5 + offset,
        "1/2": 66.25 + offset,
        "7/8": 51.0 + 2 * offset,
    }
    return {
        "name": name,
        "padding": padding,
        "mIoU": {"regular": 71.0 + offset, "tile": leave_out["0"]},
        "leave_out": {"regular": {"0": 71.0 + offset}, "tile": leave_out},
        "distance": {
            "image_border": {
                "regular": dict(zip(BANDS, [40.0 + offset, 50, 60, 65, 70, None])),
                "tile": dict(zip(BANDS, [38.0 + offset, 49, 58, 66, 71, 72])),
            },
            "tile_border": {"tile": dict(zip(BANDS, [30.0 + offset, 45, 55, 60, 70, 73]))},
        },
    }


@pytest.fixture
def runs(tmp_path):
    # One file with {"runs": [...]} (several checkpoints) and one single-run file, as evaluate.py
    # writes them.
    (tmp_path / "both.json").write_text(json.dumps({"runs": [eval_run("zero", "zeros", 0.0),
                                                             eval_run("partial", "partial", 1.5)]}))
    (tmp_path / "one.json").write_text(json.dumps(eval_run("", "partial", 3.0)))
    return load_eval_runs([tmp_path / "both.json", tmp_path / "one.json"])


def test_runs_are_read_from_both_json_shapes(runs):
    assert [run["name"] for run in runs] == ["zero", "partial", "one"]


def test_leave_out_lines_are_the_json_numbers(runs):
    fig, series = leave_out_figure(runs)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert set(lines) == {"zero", "partial", "one"}  # only the tile table has several proportions
    for run in runs:
        table = run["leave_out"]["tile"]
        assert list(lines[run["name"]].get_xdata()) == pytest.approx([0, 1 / 3, 1 / 2, 7 / 8])
        assert list(lines[run["name"]].get_ydata()) == [
            table[p] for p in ("0", "1/3", "1/2", "7/8")
        ]
        assert series[run["name"]]["y"] == [table[p] for p in ("0", "1/3", "1/2", "7/8")]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0", "1/3", "1/2", "7/8"]


def test_distance_lines_are_the_json_numbers_with_gaps_for_null(runs):
    fig, series = distance_figure(runs)
    image_ax, tile_ax = fig.axes[:2]
    assert "image border" in image_ax.get_title() and "tile border" in tile_ax.get_title()
    lines = {line.get_label(): line for line in image_ax.get_lines()}
    assert len(lines) == 6  # 3 runs x (regular, tile)
    y = lines["zero / Regular"].get_ydata()
    assert list(y[:5]) == [40.0, 50, 60, 65, 70] and np.isnan(y[5])
    assert list(lines["partial / 0 Tile overlap"].get_ydata()) == [39.5, 49, 58, 66, 71, 72]
    tile_lines = {line.get_label(): line for line in tile_ax.get_lines()}
    assert list(tile_lines["one"].get_ydata()) == [33.0, 45, 55, 60, 70, 73]
    assert [t.get_text() for t in image_ax.get_xticklabels()] == BANDS


def test_training_curves_put_both_runs_on_each_panel(tmp_path):
    for name, losses in (
        ("small_zero", [2.0, 1.5, 1.25, 1.0]),
        ("small_partial", [2.0, 1.4, 1.1, 0.9]),
    ):
        run = tmp_path / name
        run.mkdir()
        records = [{"iteration": 10 * (i + 1), "time": 0.0, "train/loss": v, "train/lr": 0.01}
                   for i, v in enumerate(losses)]
        records.insert(2, {"iteration": 20, "time": 0.0, "val/mIoU": 12.5})
        # A resumed run repeats iteration 30: the later record is the one kept.
        records.append({"iteration": 30, "time": 0.0, "train/loss": losses[2] - 0.5})
        (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    logs = load_logs([tmp_path / "small_zero", tmp_path / "small_partial" / "log.jsonl"])
    fig, series = training_figure(logs)
    loss_ax, miou_ax = fig.axes[:2]
    assert (loss_ax.get_title(), miou_ax.get_title()) == ("train/loss", "val/mIoU")
    loss = {line.get_label(): line for line in loss_ax.get_lines()}
    assert set(loss) == {"small_zero", "small_partial"}
    assert list(loss["small_zero"].get_xdata()) == [10, 20, 30, 40]
    assert list(loss["small_zero"].get_ydata()) == [2.0, 1.5, 0.75, 1.0]
    assert list(loss["small_partial"].get_ydata()) == [2.0, 1.4, 1.1 - 0.5, 0.9]
    assert [list(line.get_ydata()) for line in miou_ax.get_lines()] == [[12.5], [12.5]]
    png = save_figure(fig, series, tmp_path / "out" / "training.png")
    assert png.stat().st_size > 0
    assert json.loads(png.with_suffix(".json").read_text())["train/loss: small_zero"]["y"] == [
        2.0,
        1.5,
        0.75,
        1.0,
    ]
