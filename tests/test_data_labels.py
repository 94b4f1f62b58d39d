"""labelIds -> trainIds must equal cityscapesscripts' table; unknown ids must be named."""
import numpy as np
import pytest
from cityscapesscripts.helpers.labels import id2label, labels, trainId2label

from seg.utils.labels import (
    CLASS_NAMES,
    LABEL_ID_TO_TRAIN_ID,
    label_ids_to_color,
    label_ids_to_train_ids,
    train_ids_to_label_ids,
)


def expected_train_id(label_id):
    train_id = id2label[label_id].trainId
    return 255 if train_id in (-1, 255) else train_id


def test_every_label_id_maps_like_cityscapesscripts():
    ids = np.array([l.id for l in labels if l.id >= 0], dtype=np.uint8).reshape(1, -1)
    got = label_ids_to_train_ids(ids)
    assert got.dtype == np.uint8
    assert got.ravel().tolist() == [expected_train_id(int(i)) for i in ids.ravel()]
    assert sorted(set(LABEL_ID_TO_TRAIN_ID[: 34].tolist()) - {255}) == list(range(19))


def test_class_names_follow_train_ids():
    assert list(CLASS_NAMES) == [trainId2label[i].name for i in range(19)]
    assert CLASS_NAMES[0] == "road" and CLASS_NAMES[18] == "bicycle"


def test_train_ids_round_trip_to_label_ids():
    train_ids = np.array([[0, 5, 18, 255]], dtype=np.uint8)
    label_ids = train_ids_to_label_ids(train_ids)
    assert label_ids.tolist() == [[7, 17, 33, 0]]  # road, pole, bicycle, unlabeled
    assert label_ids_to_train_ids(label_ids).tolist() == train_ids.tolist()


def test_colors_are_cityscapesscripts_colors():
    ids = np.array([[7, 26, 0]], dtype=np.uint8)
    assert label_ids_to_color(ids)[0].tolist() == [list(id2label[i].color) for i in (7, 26, 0)]


def test_unknown_ids_are_named_with_the_file():
    label = np.array([[7, 34, 200]], dtype=np.uint8)
    with pytest.raises(ValueError, match=r"some/file\.png.*\[34, 200\]"):
        label_ids_to_train_ids(label, "some/file.png")
