"""tools/sweep.py end to end on tiny data: the grid trains, an interrupted run resumes, a finished
grid is left alone, and the same commands run through submitit's LocalExecutor."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seg.data.synthetic import make_synthetic
from seg.engine.checkpoint import load_checkpoint
from seg.engine.sweep import plan_runs, run_sweep, train_command
from seg.utils.errors import UserError

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "deeplabv3plus_small_os8_partial_synthetic.yaml"
TINY = [
    "train.iterations=3",
    "train.batch_size=2",
    "train.log_every=1",
    "train.checkpoint_every=1",
    "eval.every=0",
    "eval.max_images=1",
    "data.crop_size=48",
]
EVAL = ["--modes", "regular", "tile", "--leave-out", "0", "1/2", "--tile", "64"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic(root, train=4, val=3, extra=0, size=(64, 128), seed=0)
    return root


def interrupt_one_run(data, out):
    # A real interruption: the run's own command, stopped by SIGINT once it wrote a checkpoint.
    run = plan_runs(
        CONFIG,
        [0],
        ["partial"],
        [f"data.root={data}", *TINY[:-1], "train.iterations=200", "data.crop_size=48"],
        out,
    )[0]
    proc = subprocess.Popen(
        train_command(CONFIG, run, 0),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.time() + 120
    while not run.checkpoint.is_file() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 0
    return int(load_checkpoint(run.checkpoint)["iteration"])


@pytest.mark.slow
def test_local_sweep_trains_resumes_skips_and_compares(data, tmp_path):
    out = tmp_path / "grid"
    overrides = [f"data.root={data}", *TINY]
    # partial_seed0 is interrupted before the sweep starts (a longer schedule: it cannot finish)
    stopped = interrupt_one_run(data, out)
    assert 1 <= stopped < 200
    said = []
    summary = run_sweep(
        CONFIG,
        seeds=[0],
        paddings=["zeros", "partial"],
        overrides=overrides,
        out=out,
        jobs=2,
        eval_args=EVAL,
        resamples=200,
        say=said.append,
    )
    text = "\n".join(said)
    assert summary["trained"] == ["zeros_seed0", "partial_seed0"]
    assert f"partial_seed0 (resumes at iteration {stopped})" in text
    for name in summary["runs"]:
        assert load_checkpoint(out / name / "last.pth")["iteration"] >= 3
        assert (out / name / "last_eval.npz").is_file()
        config = load_checkpoint(out / name / "last.pth")["config"]
        assert (
            config["train"]["seed"] == int(name[-1])
            and config["model"]["padding"] == name.split("_")[0]
        )
    result = json.loads((out / "comparison.json").read_text())
    assert result["a"]["name"] == "zeros" and result["b"]["name"] == "partial"
    assert result["a"]["runs"] == ["seed 0"] and result["num_images"] == 3
    assert "## mIoU (%), table 5 layout" in text and "| Column | Group | 1 | mean ± std |" in text
    assert "zeros has one run" in text  # one seed per padding: images-only intervals, said so
    assert (out / "comparison.md").read_text() in text
    # Again: nothing to train or evaluate, and it says so.
    said.clear()
    again = run_sweep(
        CONFIG,
        seeds=[0],
        paddings=["zeros", "partial"],
        overrides=overrides,
        out=out,
        jobs=2,
        eval_args=EVAL,
        resamples=200,
        say=said.append,
    )
    assert again["trained"] == [] and again["evaluated"] == []
    assert said[0].startswith("all 2 runs under") and "nothing to do" in said[0]
    # The command line says the same.
    done = subprocess.run(
        [
            sys.executable,
            "tools/sweep.py",
            str(CONFIG),
            *overrides,
            "--seeds",
            "0",
            "--paddings",
            "zeros",
            "partial",
            "--out",
            str(out),
            *EVAL,
            "--resamples",
            "200",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "nothing to do" in done.stdout, done.stderr


@pytest.mark.slow
def test_submitit_local_executor_runs_the_same_commands_under_torchrun(data, tmp_path):
    out = tmp_path / "grid"
    said = []
    summary = run_sweep(
        CONFIG,
        seeds=[0],
        paddings=["zeros", "partial"],
        out=out,
        executor="submitit-local",
        nproc=1,
        overrides=[f"data.root={data}", "train.device=cpu", *TINY],
        eval_args=["--modes", "regular"],
        resamples=200,
        say=said.append,
    )
    assert summary["trained"] == ["zeros_seed0", "partial_seed0"]
    assert "torch.distributed.run --standalone --nproc_per_node=1" in "\n".join(said)
    assert list(
        (out / "submitit").glob("*_result.pkl")
    )  # submitit's own bookkeeping: it ran the jobs
    assert json.loads((out / "comparison.json").read_text())["images_only"]


def test_bad_grids_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="repeated"):
        plan_runs(CONFIG, [0, 0], ["zeros", "partial"], [], tmp_path)
    with pytest.raises(UserError, match="train.itrations"):
        plan_runs(CONFIG, [0], ["zeros", "partial"], ["train.itrations=3"], tmp_path)
    with pytest.raises(UserError, match="two paddings"):
        run_sweep(CONFIG, seeds=[0], paddings=["zeros"], out=tmp_path)
