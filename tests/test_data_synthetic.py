"""The synthetic Cityscapes: layout and naming, determinism, folds, labels, and cityscapesscripts
compatibility."""
import re

import cv2
import numpy as np
import pytest
from cityscapesscripts.helpers.labels import id2label

from seg.data import build_eval_dataset, build_train_dataset
from seg.data.splits import fold_cities
from seg.data.synthetic import make_synthetic
from seg.utils.labels import train_ids_to_label_ids

NAME = re.compile(
    r"leftImg8bit/(train|val|test|train_extra)/([a-z-]+)/\2_\d{6}_\d{6}_leftImg8bit\.png"
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    names = make_synthetic(root, train=21, val=3, extra=2, test=1, size=(64, 128), seed=0)
    return root, names


def read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_layout_and_naming(tree):
    root, names = tree
    assert len(names) == 27 and all(NAME.fullmatch(n) for n in names)
    for name in names:
        stem = name.split("/")[-1][: -len("_leftImg8bit.png")]
        split, city = name.split("/")[1:3]
        annotation = "gtCoarse" if split == "train_extra" else "gtFine"
        for kind in ("labelIds", "color") + (("instanceIds",) if annotation == "gtFine" else ()):
            assert (root / annotation / split / city / f"{stem}_{annotation}_{kind}.png").is_file()
        assert read(root / name).shape == (64, 128, 3)


def test_same_seed_same_bytes_other_seed_other_bytes(tree, tmp_path):
    root, names = tree
    make_synthetic(tmp_path / "a", train=21, val=3, extra=2, test=1, size=(64, 128), seed=0)
    make_synthetic(tmp_path / "b", train=2, val=0, extra=0, size=(64, 128), seed=1)
    for path in root.rglob("*.png"):
        assert (tmp_path / "a" / path.relative_to(root)).read_bytes() == path.read_bytes()
    assert (tmp_path / "b" / names[0]).read_bytes() != (root / names[0]).read_bytes()


def test_every_fold_has_train_and_val_images(tree):
    root, _ = tree
    for fold in range(3):
        val = build_eval_dataset(root, "val", fold=fold)
        assert {s.name.split("/")[2] for s in val.samples} == set(fold_cities(fold)["val"])
        assert (
            len(build_train_dataset(root, fold=fold, coarse=False, class_uniform_fraction=0)) >= 18
        )


def test_six_train_images_give_every_fold_validation_images(tmp_path):
    make_synthetic(tmp_path, train=6, val=3, extra=0, size=(32, 64))
    for fold in range(3):
        assert len(build_eval_dataset(tmp_path, "val", fold=fold)) >= 1
        assert (
            len(build_train_dataset(tmp_path, fold=fold, coarse=False, class_uniform_fraction=0))
            >= 1
        )


def test_labels_colors_and_instances(tree):
    root, _ = tree
    seen = set()
    for path in (root / "gtFine" / "train").rglob("*_labelIds.png"):
        label = read(path)
        seen |= set(np.unique(label).tolist())
        color = read(str(path).replace("labelIds", "color"))[..., ::-1]
        for label_id in np.unique(label):
            assert (color[label == label_id] == id2label[int(label_id)].color).all()
        instance = read(str(path).replace("labelIds", "instanceIds"))
        assert instance.dtype == np.uint16
        assert np.array_equal(np.where(instance >= 1000, instance // 1000, instance), label)
    train_classes = {id2label[i].trainId for i in seen} - {255, -1}
    assert train_classes == set(range(19)), f"classes never drawn: {set(range(19)) - train_classes}"
    assert seen & {0, 1, 2, 4}, "no ignored (void) regions"


def test_coarse_labels_leave_more_unlabeled(tree):
    root, _ = tree
    coarse = [read(p) for p in (root / "gtCoarse" / "train_extra").rglob("*_labelIds.png")]
    fine = [read(p) for p in (root / "gtFine" / "train").rglob("*_labelIds.png")]
    assert (
        np.mean([(c == 0).mean() for c in coarse]) > np.mean([(f == 0).mean() for f in fine]) + 0.1
    )


def test_cityscapesscripts_evaluation_runs_on_the_files(tree, tmp_path, monkeypatch):
    """Predictions written from the dataset's trainIds score 100% with cityscapesscripts' own
    evaluation."""
    root, _ = tree
    from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs_eval

    monkeypatch.setattr(cs_eval.args, "quiet", True)
    # Its instance-level part calls np.in1d, removed in NumPy 2.4; the pixel-level scores do not
    # need it.
    monkeypatch.setattr(cs_eval.args, "evalInstLevelScore", False)
    monkeypatch.setattr(cs_eval.args, "exportFile", str(tmp_path / "result.json"))
    dataset = build_eval_dataset(root, "val")
    predictions, ground_truths = [], []
    for index in range(len(dataset)):
        item = dataset[index]
        stem = item["name"].split("/")[-1][: -len("_leftImg8bit.png")]
        prediction = tmp_path / f"{stem}_pred.png"
        cv2.imwrite(str(prediction), train_ids_to_label_ids(item["label"].numpy()))
        predictions.append(str(prediction))
        ground_truths.append(str(dataset.samples[index].label))
    result = cs_eval.evaluateImgLists(predictions, ground_truths, cs_eval.args)
    assert result["averageScoreClasses"] == pytest.approx(1.0)
