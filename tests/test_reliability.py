"""Nothing lost, nothing executed: the cases of tools/reliability.py, plus the engine's guarantees.

The replay runs the real tools on a tiny synthetic Cityscapes; a case fails when a refusal is not
one clear line with exit code 2, when an input does not take effect, or when a file of an earlier
run changes or a non-finite checkpoint appears.
"""

import importlib.util
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

from seg.config import ConfigError, load_config
from seg.data.synthetic import make_synthetic
from seg.engine import LoopConfig, load_checkpoint, poly_scheduler, read_jsonl, train
from seg.engine.run_dir import config_changes
from seg.utils.errors import UserError

REPO = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("reliability_tool", REPO / "tools" / "reliability.py")
reliability = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reliability)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    work = tmp_path_factory.mktemp("reliability")
    return {o.case: o for o in reliability.run_cases(work)}


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(reliability.CASES)))
def test_case_is_handled_and_loses_nothing(outcomes, index):
    outcome = list(outcomes.values())[index]
    assert outcome.ok, f"{outcome.case}: {outcome.detail}"
    assert outcome.lost == [], f"{outcome.case}: lost {outcome.lost}"


@pytest.mark.slow
def test_the_table_counts_every_case(outcomes):
    text = reliability.table(list(outcomes.values()))
    errors = sum(o.expected == "error" for o in outcomes.values())
    assert text.endswith(
        f"cases with a clear error: {errors} of {errors} that must be refused; input taking "
        f"effect: {len(outcomes) - errors} of {len(outcomes) - errors}; data lost: 0 files"
    )


# ------------------------------------------------------ the engine, on a tiny model, in seconds


class Shapes(torch.utils.data.Dataset):
    def __init__(self, n=16):
        self.images = torch.randn(n, 3, 8, 8, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return {
            "image": self.images[i] + 0.1 * torch.randn(3, 8, 8),
            "label": (self.images[i, 0] > 0).long(),
        }


def run(run_dir, iterations, *, lr=0.1, total=None, step=None, **loop):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1)
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = poly_scheduler(optimizer, total or iterations)
    step = step or (lambda m, b: nn.functional.cross_entropy(m(b["image"]), b["label"]))
    config = {"model": {"name": "tiny", "num_classes": 2, "padding": "zeros"}, "train": {"lr": lr}}
    loop = LoopConfig(iterations=iterations, batch_size=4, seed=1, log_every=1, **loop)
    return model, train(
        model,
        Shapes(),
        step,
        optimizer,
        scheduler,
        loop,
        run_dir=run_dir,
        config=config,
        device=torch.device("cpu"),
    )


def test_a_crash_then_resume_matches_an_uninterrupted_run_and_logs_each_iteration_once(tmp_path):
    full, _ = run(tmp_path / "full", 8, checkpoint_every=3)
    calls = []

    def crash_at_5(
        model, batch
    ):  # as a SIGKILL: no checkpoint at the crash, iteration 4 already logged
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("killed")
        return nn.functional.cross_entropy(model(batch["image"]), batch["label"])

    with pytest.raises(RuntimeError, match="killed"):
        run(tmp_path / "split", 8, step=crash_at_5, checkpoint_every=3)
    resumed, result = run(tmp_path / "split", 8, checkpoint_every=3, resume="auto")
    assert result["iteration"] == 8
    def logged(run_dir):
        return [(r["iteration"], r["train/loss"]) for r in read_jsonl(run_dir / "log.jsonl")
                if "train/loss" in r]

    assert logged(tmp_path / "split") == logged(tmp_path / "full")
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_resume_takes_the_new_lr_and_reports_the_change(tmp_path, capsys):
    run(tmp_path, 4, total=8, checkpoint_every=4)
    run(tmp_path, 8, lr=0.01, resume="auto")
    assert "train.lr: 0.1 -> 0.01" in capsys.readouterr().out
    lrs = {r["iteration"]: r["train/lr"] for r in read_jsonl(tmp_path / "log.jsonl")}
    assert lrs[4] == pytest.approx(0.1 * (1 - 4 / 8)) and lrs[5] == pytest.approx(
        0.01 * (1 - 5 / 8)
    )
    group = load_checkpoint(tmp_path / "last.pth")["optimizer"]["param_groups"][0]
    assert group["initial_lr"] == 0.01 and group["lr"] == pytest.approx(0.0)


def test_a_fresh_start_never_overwrites_a_run(tmp_path):
    run(tmp_path, 3)
    before = (tmp_path / "last.pth").read_bytes()
    with pytest.raises(UserError, match="train.resume=auto.*run_name.*train.overwrite=true"):
        run(tmp_path, 2)
    assert (tmp_path / "last.pth").read_bytes() == before
    _, result = run(tmp_path, 2, overwrite=True)
    assert result["iteration"] == 2 and [
        r["iteration"] for r in read_jsonl(tmp_path / "log.jsonl")
    ] == [1, 2]


def test_non_finite_weights_are_never_written_and_the_last_good_checkpoint_is_named(tmp_path):
    calls = []

    def poison_at_3(model, batch):
        calls.append(1)
        if len(calls) == 3:
            with torch.no_grad():
                model[1].running_var.fill_(float("inf"))  # a finite loss, an inf buffer
        return nn.functional.cross_entropy(model(batch["image"]), batch["label"])

    with pytest.raises(
        UserError, match=r"running_var.*last.pth \(iteration 2\) is the last good state"
    ):
        run(tmp_path, 6, step=poison_at_3, checkpoint_every=2)
    assert load_checkpoint(tmp_path / "last.pth")["iteration"] == 2


def test_stale_temporaries_are_removed_and_the_config_is_written(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    stale = tmp_path / ".last.pth.tmp4242"
    stale.write_bytes(b"half")
    run(tmp_path, 2)
    assert not stale.exists() and "lr: 0.1" in (tmp_path / "config.yaml").read_text()


def test_config_changes_lists_what_differs_and_skips_how_to_start():
    old = {"train": {"lr": 0.1, "resume": None, "iterations": 4}, "model": {"padding": "zeros"}}
    new = {"train": {"lr": 0.01, "resume": "auto", "iterations": 4}, "model": {"padding": "zeros"}}
    assert config_changes(old, new) == ["train.lr: 0.1 -> 0.01"]


@pytest.mark.parametrize(
    "override, allowed",
    [
        ("train.momentum=1.5", "in [0.0, 1.0]"),
        ("train.lr=0", "> 0.0"),
        ("data.color_jitter=0.7", "in [0.0, 0.5]"),
        ("data.class_uniform_fraction=2", "in [0.0, 1.0]"),
        ("model.output_stride=32", "8 or 16"),
        ("data.fold=3", "in [0, 2]"),
        ("eval.max_images=0", ">= 1"),
    ],
)
def test_out_of_range_values_name_the_key_value_and_range(override, allowed):
    key, value = override.split("=")
    with pytest.raises(ConfigError) as error:
        load_config(REPO / "configs" / "deeplabv3plus_small_os8_partial_synthetic.yaml", [override])
    assert f"'{key}'" in str(error.value) and allowed in str(error.value)


@pytest.mark.slow
def test_tools_print_one_line_and_debug_shows_the_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        str(REPO / "tools" / "evaluate.py"),
        "--checkpoint",
        str(tmp_path / "none.pth"),
    ]
    plain = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert (
        plain.returncode == 2
        and plain.stderr.count("\n") == 1
        and plain.stderr.startswith("error: ")
    )
    assert "none.pth" in plain.stderr
    debug = subprocess.run(cmd + ["--debug"], capture_output=True, text=True, env=env, timeout=120)
    assert (
        debug.returncode == 1 and "Traceback" in debug.stderr and "MissingFileError" in debug.stderr
    )


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_continues(tmp_path):
    data = tmp_path / "data"
    make_synthetic(data, train=6, val=2, extra=2, size=(64, 128), seed=0)
    args = [
        sys.executable,
        str(REPO / "tools" / "train.py"),
        str(REPO / "configs" / "deeplabv3plus_small_os8_partial_synthetic.yaml"),
        f"data.root={data}",
        f"output_dir={tmp_path}",
        "run_name=killed",
        "train.batch_size=2",
        "data.crop_size=64",
        "eval.every=0",
        "eval.max_images=1",
        "train.log_every=1",
        "train.checkpoint_every=2",
        "train.iterations=1000",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last, deadline = tmp_path / "killed" / "last.pth", time.time() + 120
    while (
        not (last.exists() and len(read_jsonl(tmp_path / "killed" / "log.jsonl")) >= 3)
        and time.time() < deadline
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    at = load_checkpoint(last)["iteration"]
    done = subprocess.run(
        args[:-1] + [f"train.iterations={at + 2}", "train.resume=auto"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    iterations = [
        r["iteration"] for r in read_jsonl(tmp_path / "killed" / "log.jsonl") if "train/loss" in r
    ]
    assert iterations == list(range(1, at + 3)) and load_checkpoint(last)["iteration"] == at + 2
