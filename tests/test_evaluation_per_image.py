"""Per-image intersection and union: they sum to the aggregates and match a slow reference."""

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from seg.data import build_eval_dataset
from seg.data.synthetic import make_synthetic
from seg.evaluation import evaluate, evaluate_predictions
from seg.evaluation.confusion import ConfusionMatrix
from seg.evaluation.per_image import load_per_image, mean_iou, save_per_image
from seg.evaluation.regions import border_distance, center_leave_out_mask

REPO = Path(__file__).resolve().parents[1]
LEAVE_OUT = ("0", "1/3", "7/8")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_synthetic(root, train=0, val=4, extra=0, size=(64, 128), seed=0)
    return build_eval_dataset(root, "val")


def model():
    torch.manual_seed(0)
    return torch.nn.Conv2d(3, 19, 5, padding=2).eval()


def test_sums_over_images_reproduce_every_aggregate_number(dataset):
    result = evaluate(
        model(),
        dataset,
        modes=("regular", "tile", "tile_overlap"),
        leave_out=LEAVE_OUT,
        tile=48,
        progress=False,
        per_image=True,
    )
    stats = result["per_image"]
    assert (
        stats.intersection.shape == (4, len(stats.columns), 19)
        and stats.union.shape == stats.intersection.shape
    )
    assert len(set(stats.images)) == 4
    miou = dict(zip(stats.columns, stats.miou()))
    for mode in ("regular", "tile", "tile_overlap"):
        assert miou[f"{mode}/leave_out/0"] == pytest.approx(result["mIoU"][mode], abs=1e-9)
        for p in LEAVE_OUT:
            assert miou[f"{mode}/leave_out/{p}"] == pytest.approx(
                result["leave_out"][mode][p], abs=1e-9
            )
        intersection, union = stats.totals()
        per_class = mean_iou(
            intersection[stats.columns.index(f"{mode}/leave_out/0")][:, None],
            union[stats.columns.index(f"{mode}/leave_out/0")][:, None],
        )
        expected = [np.nan if v is None else v for v in result["per_class_iou"][mode].values()]
        np.testing.assert_allclose(per_class, expected, atol=1e-9)
    for kind, modes in result["distance"].items():
        for mode, bands in modes.items():
            for band, value in bands.items():
                got = miou[f"{mode}/{kind}/{band}"]
                assert (value is None and np.isnan(got)) or got == pytest.approx(value, abs=1e-9)


def test_counts_match_a_slow_per_image_reference(dataset):
    # Reference: a fresh ConfusionMatrix per image on the masked label, read as I and U.
    net = model()
    stats = evaluate(
        net, dataset, modes=("regular",), leave_out=LEAVE_OUT, progress=False, per_image=True
    )["per_image"]
    for index in range(len(dataset)):
        item = dataset[index]
        pred = net(item["image"][None]).argmax(1)[0]
        height, width = item["label"].shape
        masks = {
            f"regular/leave_out/{p}": center_leave_out_mask(height, width, float(Fraction(p)))
            for p in LEAVE_OUT
        }
        distance = border_distance(height, width)
        masks["regular/image_border/16-32"] = (distance >= 16) & (distance < 32)
        for column, keep in masks.items():
            matrix = ConfusionMatrix(19)
            matrix.update(torch.where(keep, item["label"], 255), pred)
            mat = matrix.mat
            union = mat.sum(1) + mat[:, :19].sum(0) - mat.diagonal()
            k = stats.columns.index(column)
            assert np.array_equal(stats.intersection[index, k], mat.diagonal().numpy())
            assert np.array_equal(stats.union[index, k], union.numpy())


def test_predictions_keep_per_image_counts_and_the_file_round_trips(dataset, tmp_path):
    net = model()
    folder = tmp_path / "preds"
    from seg.evaluation.predictions import write_prediction

    for index in range(len(dataset)):
        item = dataset[index]
        write_prediction(folder, item["name"], net(item["image"][None]).argmax(1)[0])
    result = evaluate_predictions(
        folder, dataset, leave_out=LEAVE_OUT, progress=False, per_image=True
    )
    stats = result["per_image"]
    stats.meta.update(name="preds", split="val", fold=0)
    again = load_per_image(save_per_image(stats, tmp_path / "preds_eval.npz"))
    assert (
        again.images == stats.images
        and again.columns == stats.columns
        and again.classes == stats.classes
    )
    assert np.array_equal(again.intersection, stats.intersection) and np.array_equal(
        again.union, stats.union
    )
    assert again.meta == {"name": "preds", "split": "val", "fold": "0"}
    assert again.miou()[again.columns.index("predictions/leave_out/0")] == pytest.approx(
        result["mIoU"]["predictions"], abs=1e-9
    )


@pytest.mark.slow
def test_evaluate_tool_writes_the_npz_next_to_its_json(dataset, tmp_path):
    from seg.config import Config, ModelConfig, config_to_dict
    from seg.models import build_model

    cfg = Config(model=ModelConfig(name="deeplabv3plus_small", padding="zeros"))
    net = build_model(
        **{k: v for k, v in config_to_dict(cfg)["model"].items() if k != "pretrained_backbone"}
    )
    checkpoint = tmp_path / "run" / "last.pth"
    checkpoint.parent.mkdir()
    torch.save(
        {"model": net.state_dict(), "config": config_to_dict(cfg), "iteration": 0}, checkpoint
    )
    done = subprocess.run(
        [
            sys.executable,
            "tools/evaluate.py",
            "--checkpoint",
            str(checkpoint),
            "--data-root",
            str(dataset.root),
            "--modes",
            "regular",
            "--no-progress",
            "--out",
            str(tmp_path / "run"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "run" / "last_eval.json").read_text())
    stats = load_per_image(saved["per_image"])
    assert Path(saved["per_image"]) == tmp_path / "run" / "last_eval.npz"
    assert stats.meta["split"] == "val" and stats.meta["fold"] == "0" and stats.meta["seed"] == "0"
    assert stats.miou()[0] == pytest.approx(saved["mIoU"]["regular"], abs=1e-9)
