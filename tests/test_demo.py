"""tools/demo.py: the shortened demo runs every step and writes every table and image; the recipes
pair up."""
import json
import math
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
    pipeline = train_data.transform.jitter
    if hue:
        jitter = [t for t in pipeline.transforms if isinstance(t, A.ColorJitter)]
        assert len(jitter) == 1 and jitter[0].p == 1.0
        assert jitter[0].hue == pytest.approx((-hue, hue))
    else:
        assert pipeline is None


def read_png(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"{path} is not a readable PNG"
    assert image.shape[0] >= 64 and image.shape[1] >= 64 and image.std() > 0, (
        f"{path} is blank or tiny"
    )
    return image


@pytest.mark.slow
def test_demo_prints_and_saves_every_table(demo):
    out, stdout, _ = demo
    # The comparison over seeds, printed last, is the one saved, with every run and every verdict.
    comparison = (out / "comparison.md").read_text()
    assert stdout.split("demo finished")[0].rstrip().endswith(comparison.strip())
    for title in (
        "## mIoU (%), table 5 layout",
        "| Column | Group | 1 | 2 | mean ± std | diff (partial − zeros) | 95% CI |",
        "## Every column (leave-out, distance to border)",
        "## What the intervals say",
        "Runs: zeros = seed 0, seed 1; partial = seed 0, seed 1",
    ):
        assert title in comparison, title
    verdicts = comparison.split("## What the intervals say")[1].strip().splitlines()
    assert len(verdicts) == len(MODES) + len(LEAVE_OUT) - 1  # each mode, each tile leave-out but 0
    assert all(("not resolved" in v) != ("resolved —" in v.replace("not resolved", ""))
               for v in verdicts)
    tables = (out / "evaluation.md").read_text()
    for title in ("## mIoU (%) by evaluation mode", "## Center leave-out", "| zeros_seed0 |",
                  "| partial_seed0 |", "| diff (partial_seed0 - zeros_seed0) |"):
        assert title in tables, title
    runs = json.loads((out / "evaluation.json").read_text())["runs"]
    assert [(r["name"], r["trained_padding"], r["seed"]) for r in runs] == [
        ("zeros_seed0", "zeros", 0), ("partial_seed0", "partial", 0), ("zeros_seed1", "zeros", 1),
        ("partial_seed1", "partial", 1)]
    for run in runs:
        assert set(run["mIoU"]) == set(MODES) and set(run["leave_out"]["tile"]) == set(LEAVE_OUT)
        assert all(0 <= v <= 100 and math.isfinite(v) for v in run["mIoU"].values())
        assert Path(run["per_image"]).is_file()
    assert f"everything it made is under {out}/" in stdout


@pytest.mark.slow
def test_demo_renders_every_image(demo):
    out, _, _ = demo
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
    for plot in ("leave_out", "distance", "training", "leave_out_bands", "distance_bands"):
        read_png(out / "plots" / f"{plot}.png")
        assert json.loads((out / "plots" / f"{plot}.json").read_text())
    for run in ("zeros_seed0", "partial_seed0", "zeros_seed1", "partial_seed1"):
        assert (out / run / "last.pth").is_file() and (out / run / "log.jsonl").is_file()
