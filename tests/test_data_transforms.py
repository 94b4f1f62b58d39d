"""Training augmentation keeps image, label and valid aligned; padding; determinism; eval
transform."""
import numpy as np
import pytest
import torch

from seg.data.transforms import EvalTransform, TrainTransform

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
H, W = 64, 128


def coordinate_frame():
    """Return an image whose red channel is 2x and green channel 4y, and a label of 8-pixel x
    bands."""
    y, x = np.mgrid[0:H, 0:W]
    image = np.stack([2 * x, 4 * y, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    return image, (x // 8).astype(np.uint8)


def source_x(item):
    """Return the source x coordinate that each output pixel shows (from the red channel)."""
    red = (item["image"] * STD + MEAN)[0] * 255.0
    return red / 2.0


@pytest.mark.parametrize("seed", range(12))
def test_label_and_valid_follow_the_image(seed):
    image, label = coordinate_frame()
    transform = TrainTransform(48, scale_range=(0.5, 2.0), color_jitter=0.0, blur_probability=0.0)
    item = transform(image, label, seed=seed)
    valid = item["valid"][0] > 0
    assert valid.any()
    x = source_x(item)
    # Away from band edges (where linear and nearest resampling may differ by a pixel) they must
    # agree.
    inside = valid & ((x % 8) > 1.5) & ((x % 8) < 6.5)
    agree = ((x // 8).long() == item["label"])[inside].float().mean()
    assert inside.sum() > 100 and agree > 0.99, (
        f"label disagrees with the image on {1 - agree:.1%} of pixels"
    )
    assert torch.all(item["label"][~valid] == 255)
    # The image's scale along x lies in [0.5, 2]: source x changes by 0.5..2 per output pixel.
    rows = valid.all(dim=1)
    step = (x[rows][:, -1] - x[rows][:, 0]).abs().mean() / (x.shape[1] - 1) if rows.any() else None
    if step is not None:
        assert 0.45 < step < 2.05


def test_flips_happen_and_both_directions_align():
    image, label = coordinate_frame()
    transform = TrainTransform(32, scale_range=(1.0, 1.0), color_jitter=0.0, blur_probability=0.0)
    directions = set()
    for seed in range(10):
        item = transform(image, label, seed=seed)
        x = source_x(item)
        directions.add(bool(x[0, -1] > x[0, 0]))
        assert torch.equal(item["label"], (torch.round(x).long() // 8))
    assert directions == {True, False}


def test_padding_gives_valid_0_and_label_255():
    image, _ = coordinate_frame()
    label = np.full((H, W), 5, np.uint8)
    # even 2x leaves 128 < 160 rows: padding
    transform = TrainTransform(160, scale_range=(0.5, 2.0))
    for seed in range(4):
        item = transform(image, label, seed=seed)
        valid = item["valid"][0]
        assert item["image"].shape == (3, 160, 160) and valid.shape == (160, 160)
        assert set(valid.unique().tolist()) == {0.0, 1.0}
        assert torch.all(item["label"][valid == 0] == 255)
        assert torch.all(item["label"][valid == 1] == 5)


def test_padded_pixels_are_zero_before_normalisation():
    image = np.full((H, W, 3), 200, np.uint8)
    item = TrainTransform(160, color_jitter=0.0, blur_probability=0.0)(
        image, np.zeros((H, W), np.uint8), seed=0
    )
    raw = item["image"] * STD + MEAN
    assert torch.allclose(raw[:, item["valid"][0] == 0], torch.zeros(1), atol=1e-5)


def test_same_seed_same_sample_other_seed_other_sample():
    image = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    label = np.random.default_rng(1).integers(0, 19, (H, W), dtype=np.uint8)
    transform = TrainTransform(40)
    a, b, c = (
        transform(image, label, seed=3),
        TrainTransform(40)(image, label, seed=3),
        transform(image, label, seed=4),
    )
    for key in a:
        assert torch.equal(a[key], b[key])
    assert not torch.equal(a["image"], c["image"])


def test_centre_follows_the_chosen_pixel_after_scaling():
    image, label = coordinate_frame()
    transform = TrainTransform(16, color_jitter=0.0, blur_probability=0.0)
    for seed in range(8):
        item = transform(image, label, center=(70.0, 30.0), seed=seed)
        x = source_x(item)
        y = (item["image"] * STD + MEAN)[1] * 255.0 / 4.0
        assert abs(x[7:9, 7:9].mean() - 70) < 3 and abs(y[7:9, 7:9].mean() - 30) < 3


def test_eval_transform_is_normalisation_only():
    image, label = coordinate_frame()
    item = EvalTransform()(image, label)
    expected = (torch.from_numpy(image).permute(2, 0, 1) / 255.0 - MEAN) / STD
    assert torch.allclose(item["image"], expected, atol=1e-5)
    assert torch.equal(item["label"], torch.from_numpy(label).long())
    assert torch.all(item["valid"] == 1)
