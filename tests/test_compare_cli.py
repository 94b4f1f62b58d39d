"""tools/compare.py on per-image files with a known answer: layout, marks, verdicts, bad input."""

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seg.evaluation.per_image import PerImageStats, save_per_image
from seg.evaluation.simulate import simulate_groups
from seg.utils.errors import run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import compare as compare_tool  # noqa: E402  (tools/compare.py)
import render as render_tool  # noqa: E402  (tools/render.py)

REPO = Path(__file__).resolve().parents[1]
COLUMNS = [
    "regular/leave_out/0",
    "tile/leave_out/0",
    "tile/leave_out/7/8",
    "tile/image_border/0-16",
]
CLASSES = ["road", "car", "sky"]


def write_runs(folder, name, counts, *, images=None, fold=0):
    intersection, union = counts
    paths = []
    for r in range(len(intersection)):
        names = images or [f"city_{i:06d}_000019" for i in range(intersection.shape[1])]
        stats = PerImageStats(
            names,
            COLUMNS,
            CLASSES,
            intersection[r],
            union[r],
            {"name": f"{name}_seed{r}", "split": "val", "fold": fold, "seed": r},
        )
        paths.append(str(save_per_image(stats, folder / f"{name}_seed{r}_eval.npz")))
    return paths


def run_compare(*args):
    # In this process (tools/compare.py's own entry point), to keep the tests fast.
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(compare_tool.main, list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def shifted(tmp_path_factory):
    # B is 5 points above A in every column: every interval must exclude 0.
    folder = tmp_path_factory.mktemp("runs")
    a, b = simulate_groups(
        np.random.default_rng(0),
        runs=(3, 3),
        images=60,
        columns=len(COLUMNS),
        classes=len(CLASSES),
        shift=0.05,
        image_sd=0.03,
        seed_sd=0.003,
    )
    return folder, write_runs(folder, "zero", a), write_runs(folder, "partial", b)


def test_table5_layout_marks_and_verdicts(shifted, tmp_path):
    folder, a, b = shifted
    done = run_compare(
        "--a",
        *a,
        "--b",
        *b,
        "--names",
        "zero",
        "partial",
        "--resamples",
        "500",
        "--json",
        str(tmp_path / "c.json"),
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "| Column | Group | 1 | 2 | 3 | mean ± std | diff (partial − zero) | 95% CI |" in out
    result = json.loads((tmp_path / "c.json").read_text())
    assert result["columns"] == COLUMNS and len(result["a"]["scores"]) == 3
    for k in range(len(COLUMNS)):
        assert (
            2 < result["diff"][k] < 8 and result["interval"][0][k] > 0
        )  # the known shift is found
        assert result["interval"][0][k] < result["diff"][k] < result["interval"][1][k]
    # each run's number is its own mIoU: the mean of the printed row is the group mean
    assert np.mean([s[0] for s in result["b"]["scores"]]) == pytest.approx(result["b"]["mean"][0])
    assert out.count(" *") >= len(COLUMNS)
    assert "Regular: resolved — partial scores higher than zero" in out
    assert "0 Tile overlap, centre 7/8 left out: resolved" in out
    assert "## Per-class IoU (%), Regular" in out and "| road |" in out


def test_same_inputs_same_output(shifted):
    _, a, b = shifted
    first, again = (
        run_compare("--a", *a, "--b", *b, "--resamples", "300", "--seed", "3").stdout
        for _ in range(2)
    )
    assert first == again


def test_one_run_groups_print_with_images_only_intervals(shifted):
    _, a, b = shifted
    done = run_compare("--a", a[0], "--b", b[0], "--names", "zero", "partial", "--resamples", "300")
    assert done.returncode == 0, done.stderr
    assert (
        "zero has one run: its seed-to-seed spread is unknown, so the interval covers the images "
        "only" in done.stdout
    )
    assert "| Column | Group | 1 | mean ± std |" in done.stdout


def test_the_script_runs_from_another_folder(shifted, tmp_path):
    _, a, b = shifted
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools/compare.py"),
            "--a",
            a[0],
            "--b",
            b[0],
            "--resamples",
            "200",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "## mIoU (%), table 5 layout" in done.stdout, done.stderr


def test_different_images_or_folds_are_one_clear_error(shifted, tmp_path):
    _, a, _ = shifted
    counts = simulate_groups(
        np.random.default_rng(1), runs=(1, 1), images=60, columns=len(COLUMNS), classes=len(CLASSES)
    )[1]
    other_fold = write_runs(tmp_path, "fold1", counts, fold=1)
    done = run_compare("--a", *a, "--b", *other_fold)
    assert done.returncode == 2 and "fold 1" in done.stderr and "fold 0" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    renamed = write_runs(
        tmp_path, "other", counts, images=[f"other_{i:06d}_000019" for i in range(60)]
    )
    done = run_compare("--a", *a, "--b", *renamed)
    assert (
        done.returncode == 2
        and "different images" in done.stderr
        and "other_000000_000019" in done.stderr
    )
    fewer = write_runs(tmp_path, "fewer", tuple(x[:, :50] for x in counts))
    done = run_compare("--a", *a, "--b", *fewer)
    assert done.returncode == 2 and "50 vs 60 images" in done.stderr


def test_plots_draw_each_group_mean_with_its_bootstrap_band(shifted, tmp_path):
    _, a, b = shifted
    assert (
        run_compare(
            "--a",
            *a,
            "--b",
            *b,
            "--names",
            "zero",
            "partial",
            "--resamples",
            "300",
            "--json",
            str(tmp_path / "c.json"),
        ).returncode
        == 0
    )
    result = json.loads((tmp_path / "c.json").read_text())
    render_tool.main(
        ["plots", "--compare", str(tmp_path / "c.json"), "--out", str(tmp_path / "plots")]
    )
    leave_out = json.loads((tmp_path / "plots" / "leave_out_bands.json").read_text())
    line = leave_out["partial (3 runs)"]
    assert line["x"] == [0.0, 0.875]  # tile/leave_out/0 and 7/8
    k = result["columns"].index("tile/leave_out/7/8")
    assert line["y"][1] == pytest.approx(result["b"]["mean"][k])
    assert all(lo < y < hi for lo, y, hi in zip(line["low"], line["y"], line["high"]))
    distance = json.loads((tmp_path / "plots" / "distance_bands.json").read_text())
    assert set(distance) == {"image_border: zero (3 runs)", "image_border: partial (3 runs)"}
    assert (tmp_path / "plots" / "leave_out_bands.png").stat().st_size > 10000
