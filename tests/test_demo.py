"""tools/demo.py: the shortened demo runs every step and writes every table and image; the recipes
pair up."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import albumentations as A
import cv2
import pytest
import yaml

from seg.config import load_config
from seg.data.synthetic import make_synthetic
from seg.engine.segmentation import build_datasets

REPO = Path(__file__).resolve().parents[1]
MODES = ("regular", "tile", "tile_overlap")
LEAVE_OUT = ("0", "1/3", "1/2", "2/3", "3/4", "7/8")


def test_zero_and_partial_recipes_differ_only_in_padding():
    # The demo's comparison means something only if nothing but the padding changes between the two
    # runs.
    zero, partial = (
        yaml.safe_load((REPO / f"configs/deeplabv3plus_small_os8_{p}_synthetic.yaml").read_text())
        for p in ("zero", "partial")
    )
    assert (zero["model"].pop("padding"), partial["model"].pop("padding")) == ("zeros", "partial")
    assert zero == partial


@pytest.mark.parametrize(
    "override, hue", [([], 0.25), (["data.color_jitter=0.1"], 0.1), (["data.color_jitter=0"], 0.0)]
)
def test_color_jitter_reaches_the_training_transform(tmp_path, override, hue):
    # The Cityscapes recipe keeps the paper's 0.25 (hue +-90 degrees); overrides and 0 (the
    # synthetic recipes' value) must reach albumentations, whose own attributes are the reference.
    make_synthetic(tmp_path, train=2, val=1, extra=0, size=(32, 64), seed=0)
    cfg = load_config(REPO / "configs/deeplabv3plus_r50_os8_partial_cityscapes.yaml",
                      [f"data.root={tmp_path}", "data.coarse=false", *override])
    train_data, _ = build_datasets(cfg)
    jitter = [
        t for t in train_data.base.transform.photometric.transforms if isinstance(t, A.ColorJitter)
    ]
    assert len(jitter) == 1
    if hue:
        assert jitter[0].p == 1.0 and jitter[0].hue == pytest.approx((-hue, hue))
    else:
        assert jitter[0].p == 0.0


def read_png(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"{path} is not a readable PNG"
    assert image.shape[0] >= 64 and image.shape[1] >= 64 and image.std() > 0, (
        f"{path} is blank or tiny"
    )
    return image


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out, data = tmp_path_factory.mktemp("demo"), tmp_path_factory.mktemp("data") / "synthetic"
    # One thread per step: two OpenMP threads on two cores shared with other jobs can spin-wait
    # several times longer.
    done = subprocess.run(
        [sys.executable, "tools/demo.py", "--fast", "--out", str(out), "--data", str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout


@pytest.mark.slow
def test_demo_prints_and_saves_every_table(demo):
    out, stdout = demo
    tables = (out / "evaluation.md").read_text()
    # The tables saved for the README are exactly the ones printed, with a row per model and the
    # diff row.
    assert tables.strip() in stdout
    for title in (
        "## mIoU (%) by evaluation mode",
        "## Center leave-out",
        "## Per-class IoU (%)",
        "nearest image border",
        "nearest tile border",
        "| Run | Regular | 0 Tile overlap | 1/3 Tile overlap |",
        "| zero/last |",
        "| partial/last |",
        "| diff (partial/last - zero/last) |",
        "| Run | regular | 0 | 1/3 x 1/3 | 1/2 x 1/2 | 2/3 x 2/3 | 3/4 x 3/4 | 7/8 x 7/8 |",
    ):
        assert title in tables, title
    for padding in (
        "zero",
        "partial",
    ):  # tools/evaluate.py writes only where --json says, not beside checkpoints
        assert not list((out / "runs" / padding).glob("*_eval*"))
    runs = json.loads((out / "evaluation.json").read_text())["runs"]
    assert [(r["name"], r["trained_padding"]) for r in runs] == [
        ("zero/last", "zeros"),
        ("partial/last", "partial"),
    ]
    for run in runs:
        assert set(run["mIoU"]) == set(MODES) and set(run["leave_out"]["tile"]) == set(LEAVE_OUT)
        assert all(0 <= v <= 100 and math.isfinite(v) for v in run["mIoU"].values())
    assert f"everything it made is under {out}/" in stdout


@pytest.mark.slow
def test_demo_renders_every_image(demo):
    out, _ = demo
    for mode in ("tile", "regular"):
        folder = out / "compare" / mode
        picks = json.loads((folder / "picks.json").read_text())
        figures = sorted(
            f for f in folder.glob(f"*_{mode}.png") if not f.name.startswith("contact_sheet")
        )
        assert len(figures) == len(picks["picked"]) == 2  # --num 2 in the fast demo
        assert {
            Path(n).name.replace("_leftImg8bit.png", f"_{mode}.png") for n in picks["picked"]
        } == {f.name for f in figures}
        for figure in figures:
            height, width = read_png(figure).shape[:2]
            assert width > height  # 4 panels side by side, 3 rows
        read_png(folder / f"contact_sheet_{mode}.png")
    for plot in ("leave_out", "distance", "training"):
        read_png(out / "plots" / f"{plot}.png")
        assert json.loads((out / "plots" / f"{plot}.json").read_text())
    for padding in ("zero", "partial"):
        assert (out / "runs" / padding / "last.pth").is_file() and (
            out / "runs" / padding / "log.jsonl"
        ).is_file()
