"""tools/train.py end to end on a tiny synthetic Cityscapes: recipes, resume, torchrun, SIGTERM, bad
configs."""
import importlib.util
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import torch

from seg.config import load_config
from seg.engine import load_checkpoint, read_jsonl
from seg.engine.segmentation import load_model, train_segmentation
from seg.utils.errors import run_cli

REPO = pathlib.Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RECIPES = ["deeplabv3plus_small_os8_zero_synthetic", "deeplabv3plus_small_os8_partial_synthetic"]
# Small enough for seconds per run; still the recipe's model, loss, sampler and validation.
TINY = ["train.iterations=3", "train.batch_size=2", "data.crop_size=64", "data.num_workers=0",
        "eval.max_images=1", "eval.every=0", "train.log_every=1", "train.checkpoint_every=2"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    from seg.data.synthetic import make_synthetic

    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic(root, train=6, val=2, extra=2, size=(64, 128), seed=0)
    return root


def tiny_config(recipe, data_root, out, *extra):
    return load_config(
        REPO / "configs" / f"{recipe}.yaml",
        [f"data.root={data_root}", f"output_dir={out}", *TINY, *extra],
    )


def env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_runs_a_few_iterations(recipe, data_root, tmp_path):
    cfg = tiny_config(recipe, data_root, tmp_path)
    result = train_segmentation(cfg)
    assert result["status"] == "finished" and result["iteration"] == 3
    model, config = load_model(cfg.run_dir() / "last.pth")
    assert config["model"]["padding"] == cfg.model.padding and config["run_name"] == recipe
    best = load_checkpoint(cfg.run_dir() / "best.pth")
    assert (
        best["best_miou"] == pytest.approx(result["metrics"]["mIoU"])
        and 0 <= best["best_miou"] <= 100
    )
    records = read_jsonl(cfg.run_dir() / "log.jsonl")
    assert [r["iteration"] for r in records if "train/loss" in r] == [1, 2, 3]
    assert any("val/mIoU" in r for r in records)
    assert list(cfg.run_dir().glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_resume_of_the_recipe_matches_an_uninterrupted_run(data_root, tmp_path):
    recipe = RECIPES[1]
    full = tiny_config(recipe, data_root, tmp_path, "run_name=full", "train.iterations=4")
    train_segmentation(full)
    first = tiny_config(recipe, data_root, tmp_path, "run_name=split", "train.iterations=4")
    # Stop after 2 iterations by an interrupt, then resume: the poly schedule still spans 4.
    from seg.engine import segmentation

    calls, original = [], segmentation.segmentation_step

    def step_then_stop(model, batch):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return original(model, batch)

    segmentation.segmentation_step = step_then_stop
    try:
        assert train_segmentation(first)["iteration"] == 2
    finally:
        segmentation.segmentation_step = original
    first.train.resume = "auto"
    assert train_segmentation(first)["iteration"] == 4

    def losses(run):
        return [r["train/loss"] for r in read_jsonl(run / "log.jsonl") if "train/loss" in r]

    assert losses(first.run_dir()) == losses(full.run_dir())
    a, b = (load_checkpoint(c.run_dir() / "last.pth")["model"] for c in (full, first))
    assert all(torch.equal(a[k], b[k]) for k in a)


DDP_SCRIPT = """
import sys, torch
from seg.config import load_config
from seg.utils.distributed import get_rank
from seg.engine.checkpoint import unwrap_model
import seg.engine.trainer as trainer

kept = {}
original = trainer.prepare_model
def keep(model, device, **kw):
    kept["model"] = model
    return original(model, device, **kw)
trainer.prepare_model = keep
from seg.engine.segmentation import train_segmentation
from seg.utils.errors import run_cli
cfg = load_config(sys.argv[1], sys.argv[3:])
train_segmentation(cfg)
torch.save(unwrap_model(kept["model"]).state_dict(), f"{sys.argv[2]}/rank{get_rank()}.pt")
"""


@pytest.mark.slow
def test_torchrun_two_processes_end_with_identical_weights(data_root, tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(DDP_SCRIPT)
    cmd = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
           str(REPO / "configs" / f"{RECIPES[1]}.yaml"), str(tmp_path), f"data.root={data_root}",
           f"output_dir={tmp_path}", *TINY]
    done = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    saved = load_checkpoint(tmp_path / RECIPES[1] / "last.pth")
    assert saved["iteration"] == 3 and len(saved["rng"]) == 2
    assert all(torch.equal(saved["model"][k], a[k]) for k in a)
    assert "plain BatchNorm per process" in done.stdout


@pytest.mark.slow
def test_sigterm_mid_run_leaves_a_loadable_last_checkpoint(data_root, tmp_path):
    cmd = [PYTHON, str(REPO / "tools" / "train.py"), str(REPO / "configs" / f"{RECIPES[1]}.yaml"),
           f"data.root={data_root}", f"output_dir={tmp_path}", *TINY, "train.iterations=1000",
           "train.checkpoint_every=1000"]
    proc = subprocess.Popen(
        cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    log = tmp_path / RECIPES[1] / "log.jsonl"
    deadline = time.time() + 120
    while (
        not (log.exists() and log.read_text().count("\n") >= 2)
        and time.time() < deadline
        and proc.poll() is None
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    assert "stopped by SIGTERM" in out + err
    state = load_checkpoint(tmp_path / RECIPES[1] / "last.pth")
    assert 2 <= state["iteration"] < 1000
    model, config = load_model(tmp_path / RECIPES[1] / "last.pth")
    assert config["train"]["iterations"] == 1000


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["configs/deeplabv3plus_small_os8_partial_synthetic.yaml", "train.lrr=0.1"],
            "did you mean 'train.lr'",
        ),
        (
            ["configs/deeplabv3plus_small_os8_partial_synthetic.yaml", "train.iterations=ten"],
            "must be an integer",
        ),
        (["configs/no_such_recipe.yaml"], "no_such_recipe.yaml not found"),
    ],
)
def test_bad_config_exits_with_a_clear_error(args, message, capsys):
    spec = importlib.util.spec_from_file_location("train_tool", REPO / "tools" / "train.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert run_cli(tool.main, [str(REPO / args[0]), *args[1:]]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.slow
def test_compiled_training_step_matches_eager(data_root, tmp_path):
    # train.compile runs the step through torch.compile ("eager": Dynamo's graph, no codegen).
    losses = []
    torch._dynamo.reset()
    for compile_backend in ("null", "eager"):
        torch._dynamo.utils.counters.clear()  # earlier tests' graphs are counted there too
        cfg = tiny_config(RECIPES[1], data_root, tmp_path / compile_backend,
                          f"train.compile={compile_backend}")
        assert train_segmentation(cfg)["status"] == "finished"
        graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
        assert (graphs > 0) == (compile_backend == "eager")  # compiled only when asked
        losses.append([r["train/loss"] for r in read_jsonl(cfg.run_dir() / "log.jsonl")
                       if "train/loss" in r])
    assert len(losses[1]) == 3 and losses[1] == pytest.approx(losses[0], rel=1e-4)
