"""Our mIoU equals cityscapesscripts' evalPixelLevelSemanticLabeling (averageScoreClasses) on the
same PNGs."""
import math

import numpy as np
import pytest
import torch
from cityscapesscripts.helpers.labels import labels as cs_labels
from PIL import Image

from seg.data import build_eval_dataset
from seg.evaluation import evaluate, evaluate_predictions
from seg.evaluation.cityscapes_official import official_scores
from seg.evaluation.predictions import PredictionFolder, prediction_path

LABEL_IDS = [label.id for label in cs_labels if label.id >= 0]  # 0..33, ignored ones included
H, W = 24, 40


def write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


@pytest.fixture(scope="module")
def tiny_cityscapes(tmp_path_factory):
    """Six val images (fold 0 cities) with random labelIds; 'train' (31) and 'bus' (28) never
    occur."""
    root = tmp_path_factory.mktemp("cityscapes")
    rng = np.random.default_rng(0)
    ids = [i for i in LABEL_IDS if i not in (28, 31)]
    for city in ("frankfurt", "lindau", "munster"):
        for frame in (19, 20):
            stem = f"{city}_000000_{frame:06d}"
            write_png(root / "leftImg8bit" / "val" / city / f"{stem}_leftImg8bit.png",
                      rng.integers(0, 256, (H, W, 3)))
            write_png(
                root / "gtFine" / "val" / city / f"{stem}_gtFine_labelIds.png",
                rng.choice(ids, (H, W)),
            )
    return root


def assert_same_scores(ours, official, mode):
    assert ours["mIoU"][mode] == pytest.approx(100 * official["averageScoreClasses"], abs=1e-9)
    for name, value in ours["per_class_iou"][mode].items():
        theirs = official["classScores"][name]
        assert (value is None and math.isnan(theirs)) or value == pytest.approx(
            100 * theirs, abs=1e-9
        ), name


def test_random_submission_pngs_agree(tiny_cityscapes, tmp_path):
    # Predictions are any labelId, so some are labels ignored in evaluation (misses for every
    # class).
    rng = np.random.default_rng(1)
    dataset = build_eval_dataset(tiny_cityscapes, "val")
    for item in dataset.samples:
        write_png(
            prediction_path(tmp_path / "pred", item.name),
            rng.choice([i for i in LABEL_IDS if i != 28], (H, W)),
        )
    ours = evaluate_predictions(tmp_path / "pred", dataset, progress=False)
    official = official_scores(tmp_path / "pred", tiny_cityscapes, "val")
    assert_same_scores(ours, official, "predictions")
    assert ours["per_class_iou"]["predictions"]["bus"] is None  # neither true nor predicted
    assert ours["per_class_iou"]["predictions"]["train"] == 0.0  # predicted, never true


def test_model_predictions_dumped_and_scored_agree(tiny_cityscapes, tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 19, 3, padding=1)
    dataset = build_eval_dataset(tiny_cityscapes, "val")
    ours = evaluate(
        model,
        dataset,
        modes=("regular", "tile"),
        tile=16,
        progress=False,
        dump_dir=tmp_path / "dump",
    )
    for mode in ("regular", "tile"):
        assert_same_scores(
            ours, official_scores(tmp_path / "dump" / mode, tiny_cityscapes, "val"), mode
        )
    # Scoring the dumped folder with no model gives the model's numbers back.
    again = evaluate_predictions(
        tmp_path / "dump" / "tile", dataset, progress=False, leave_out=(0,)
    )
    assert again["mIoU"]["predictions"] == pytest.approx(ours["mIoU"]["tile"], abs=1e-12)
    assert (
        again["distance"]["image_border"]["predictions"] == ours["distance"]["image_border"]["tile"]
    )


def test_missing_prediction_is_named(tiny_cityscapes, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="frankfurt_000000_000019"):
        PredictionFolder(tmp_path / "empty").find(
            "leftImg8bit/val/frankfurt/frankfurt_000000_000019_leftImg8bit.png"
        )
