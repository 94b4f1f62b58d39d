"""File discovery, sample contents and every error of the Cityscapes dataset."""
import cv2
import numpy as np
import pytest
import torch
from data_tree import flat_frame, write_pair

from seg.data import CityscapesSegmentation, build_eval_dataset, build_train_dataset

MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


@pytest.fixture
def tree(tmp_path):
    """frankfurt (val), darmstadt and aachen (train), one coarse train_extra image."""
    for split, city, label_id in (
        ("val", "frankfurt", 7),
        ("train", "darmstadt", 26),
        ("train", "aachen", 11),
    ):
        write_pair(tmp_path, split, city, 0, *flat_frame(16, 32, label_id))
    write_pair(
        tmp_path, "train_extra", "augsburg", 0, *flat_frame(16, 32, 21), annotation="gtCoarse"
    )
    return tmp_path


def test_eval_sample_contents(tree):
    dataset = build_eval_dataset(tree, "val")
    assert len(dataset) == 1
    item = dataset[0]
    assert item["name"] == "leftImg8bit/val/frankfurt/frankfurt_000000_000019_leftImg8bit.png"
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, 16, 32)
    # labelId 7 = road = trainId 0
    assert item["label"].dtype == torch.int64 and torch.all(item["label"] == 0)
    assert item["valid"].shape == (1, 16, 32) and torch.all(item["valid"] == 1)
    raw = cv2.imread(str(tree / item["name"]))[..., ::-1] / 255.0
    expected = torch.from_numpy(((raw - MEAN) / STD).transpose(2, 0, 1)).float()
    assert torch.allclose(item["image"], expected, atol=1e-5)


def test_folds_move_cities_between_splits(tree):
    assert [s.name.split("/")[2] for s in build_eval_dataset(tree, "val", fold=1).samples] == [
        "darmstadt"
    ]
    fold1_train = CityscapesSegmentation(tree, "train", fold=1).samples
    assert sorted(s.name.split("/")[2] for s in fold1_train) == ["aachen", "frankfurt"]
    frankfurt = [s.name for s in fold1_train if "frankfurt" in s.name]
    # files stay in their original folder
    assert frankfurt[0].startswith("leftImg8bit/val/frankfurt/")


def test_coarse_train_extra_is_mixed_in(tree):
    fine = CityscapesSegmentation(tree, "train").samples
    mixed = CityscapesSegmentation(tree, "train", coarse=True).samples
    assert len(mixed) == len(fine) + 1
    assert mixed[-1].label.name == "augsburg_000000_000019_gtCoarse_labelIds.png"
    dataset = build_train_dataset(
        tree, crop_size=8, coarse=True, class_uniform_fraction=0, progress=False
    )
    assert len(dataset) == 3


def test_label_train_ids_file_is_preferred(tree):
    folder = tree / "gtFine" / "val" / "frankfurt"
    cv2.imwrite(
        str(folder / "frankfurt_000000_000019_gtFine_labelTrainIds.png"),
        np.full((16, 32), 13, np.uint8),
    )
    assert torch.all(build_eval_dataset(tree, "val")[0]["label"] == 13)


def test_missing_root_names_path_and_tree(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"(?s)nowhere.*leftImg8bit/\{train,val,test,train_extra\}"
    ):
        CityscapesSegmentation(tmp_path / "nowhere", "val")


def test_missing_split_names_path_and_tree(tree):
    with pytest.raises(FileNotFoundError, match=r"(?s)'test'.*leftImg8bit/test/berlin.*gtFine/"):
        CityscapesSegmentation(tree, "test")


def test_image_without_label(tree):
    write_pair(tree, "val", "lindau", 3, *flat_frame(16, 32, 7)[:1], None)
    with pytest.raises(
        FileNotFoundError,
        match=r"lindau_000003_000019_leftImg8bit.png has no label.*"
        r"lindau_000003_000019_gtFine_labelIds.png",
    ):
        CityscapesSegmentation(tree, "val")


def test_image_and_label_of_different_sizes(tree):
    image, _ = flat_frame(16, 32, 7)
    write_pair(tree, "val", "frankfurt", 0, image, np.full((16, 30), 7, np.uint8))
    with pytest.raises(
        ValueError, match=r"frankfurt_000000_000019_leftImg8bit.png is 32x16.*labelIds.png is 30x16"
    ):
        build_eval_dataset(tree, "val")[0]


def test_unreadable_file_is_named(tree):
    path = tree / "leftImg8bit" / "val" / "frankfurt" / "frankfurt_000000_000019_leftImg8bit.png"
    path.write_bytes(b"not a png")
    with pytest.raises(
        OSError, match="cannot read image .*frankfurt_000000_000019_leftImg8bit.png"
    ):
        build_eval_dataset(tree, "val")[0]


def test_label_ids_outside_the_table(tree):
    write_pair(tree, "val", "frankfurt", 0, *flat_frame(16, 32, 40))
    with pytest.raises(
        ValueError, match=r"frankfurt_000000_000019_gtFine_labelIds.png: label ids \[40\]"
    ):
        build_eval_dataset(tree, "val")[0]


def test_test_split_without_labels_is_all_ignore(tree):
    write_pair(tree, "test", "berlin", 0, *flat_frame(16, 32, 0)[:1], None)
    item = build_eval_dataset(tree, "test")[0]
    assert torch.all(item["label"] == 255)
