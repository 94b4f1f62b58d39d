"""Top-1 intervals over images and seeds beside the paper's tables 2/3, on known hits."""
import importlib.util
import json

import numpy as np

from seg.classification.intervals import save_hits
from seg.config import REPO_ROOT


def load_aggregate_tool():
    spec = importlib.util.spec_from_file_location("aggregate_runs",
                                                  REPO_ROOT / "tools" / "aggregate_runs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(root, name, *, model, padding, seed, top1_per_epoch, per_epoch=10):
    """Writes a run folder as tools/train_classifier.py does: run.json and log.jsonl."""
    run = root / name
    run.mkdir()
    config = {"model": {"name": model, "num_classes": 4, "padding": padding},
              "train": {"seed": seed}}
    (run / "run.json").write_text(json.dumps({"config": config, "iterations_per_epoch": per_epoch}))
    records = [{"iteration": (e + 1) * per_epoch, "val/top1": t, "val/top5": t + 10}
               for e, t in enumerate(top1_per_epoch)]
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return run


def test_intervals_beside_the_paper_tables(tmp_path, capsys):
    # Partial hits 15 points more of the 400 images than zeros: found, and covered by the interval.
    rng = np.random.default_rng(0)
    names = [f"class{i % 4}/img{i}.png" for i in range(400)]
    easy = rng.uniform(0, 1, 400)
    folders = []
    for padding, rate in (("zeros", 0.60), ("partial", 0.75)):
        for seed in (1, 2, 3):
            run = write_run(tmp_path, f"r18_{padding}_seed{seed}", model="resnet18",
                            padding=padding, seed=seed, top1_per_epoch=[50.0, 60.0])
            hits = np.stack([easy < rate + rng.normal(0, 0.01), easy < rate + 0.2], axis=1)
            save_hits(run, hits, names, {"name": run.name, "padding": padding, "seed": seed})
            folders.append(str(run))
    tool = load_aggregate_tool()
    assert tool.main([*folders, "--json", str(tmp_path / "t.json"), "--resamples", "500"]) == 0
    out = capsys.readouterr().out
    assert "Table 2: best top-1" in out and "Top-1 (%) of each run's last.pth" in out
    row, = json.loads((tmp_path / "t.json").read_text())["top1_intervals"]
    assert row["network"] == "resnet18_partial" and row["runs"] == 3 and row["images"] == 400
    low, high = row["interval"]
    assert 0 < low < 15 < high
    assert f"| resnet18_partial | 3 vs 3 | {row['mean']:.3f} ± {row['std']:.3f} |" in out


def test_a_padding_without_per_image_hits_gets_no_interval(tmp_path, capsys):
    # Runs from before the hits were saved: the paper tables still print, with no interval table.
    folders = [str(write_run(tmp_path, f"r18_{p}_seed1", model="resnet18", padding=p, seed=1,
                             top1_per_epoch=[50.0])) for p in ("zeros", "partial")]
    assert load_aggregate_tool().main(folders) == 0
    out = capsys.readouterr().out
    assert "Table 2: best top-1" in out and "last.pth" not in out
