"""Figure colours: every trainId's colour is cityscapesscripts', images are un-normalised
exactly."""
import numpy as np
import torch
from cityscapesscripts.helpers.labels import labels as CITYSCAPES_LABELS
from torchvision.transforms.functional import normalize

from seg.utils.labels import CLASS_NAMES
from seg.visualize.colors import (
    ERROR_COLORS,
    WRONG_COLOR,
    colorize,
    error_difference_view,
    error_view,
    image_to_rgb,
    palette,
)


def test_each_train_id_has_the_cityscapesscripts_colour():
    table = palette()
    trained = [label for label in CITYSCAPES_LABELS if 0 <= label.trainId < 19]
    assert sorted(label.trainId for label in trained) == list(range(19))
    for label in trained:
        assert tuple(table[label.trainId]) == tuple(label.color), label.name
    names = CLASS_NAMES
    assert all(names[label.trainId] == label.name for label in trained)


def test_colorize_maps_pixels_and_ignore_is_unlabeled_black():
    train_ids = np.array([[0, 1, 2], [13, 18, 255]])
    rgb = colorize(torch.from_numpy(train_ids))
    by_train_id = {
        label.trainId: label.color for label in CITYSCAPES_LABELS if 0 <= label.trainId < 19
    }
    unlabeled = next(label.color for label in CITYSCAPES_LABELS if label.name == "unlabeled")
    expected = [[by_train_id[t] if t != 255 else unlabeled for t in row] for row in train_ids]
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 3, 3)
    assert (rgb == np.array(expected, dtype=np.uint8)).all()


def test_image_to_rgb_inverts_imagenet_normalisation():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    tensor = normalize(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255,
                       mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    assert (image_to_rgb(tensor) == rgb).all()


def test_error_views_mark_exactly_the_wrong_labelled_pixels():
    rgb = np.full((2, 4, 3), 200, dtype=np.uint8)
    label = np.array([[0, 1, 2, 255], [3, 3, 3, 3]])
    # wrong at (0,1), (0,2), (1,2); (0,3) is ignored
    zero = np.array([[0, 5, 5, 7], [3, 3, 9, 3]])
    partial = np.array([[0, 1, 5, 7], [4, 3, 3, 3]])  # wrong at (0,2), (1,0)
    single = error_view(rgb, zero, label)
    red = (single == WRONG_COLOR).all(-1)
    assert red.tolist() == [[False, True, True, False], [False, False, True, False]]
    both = error_difference_view(rgb, zero, partial, label)
    assert tuple(both[0, 1]) == ERROR_COLORS["zero only"]
    assert tuple(both[1, 2]) == ERROR_COLORS["zero only"]
    assert tuple(both[1, 0]) == ERROR_COLORS["partial only"]
    assert tuple(both[0, 2]) == ERROR_COLORS["both"]
    # Correct and ignored pixels keep the dimmed grey background.
    for y, x in ((0, 0), (0, 3), (1, 1), (1, 3)):
        assert both[y, x, 0] == both[y, x, 1] == both[y, x, 2] < 200
