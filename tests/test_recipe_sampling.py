"""The authors' sampling and augmentation: fine-led epochs, centroid crops, blur range and order."""

import albumentations as A
import numpy as np
import torch
from scipy import ndimage

from seg.data import build_train_dataset
from seg.data.class_uniform import build_epoch, tile_centroids
from seg.data.synthetic import make_synthetic
from seg.data.transforms import IMAGENET_MEAN, IMAGENET_STD, TrainTransform, crop_origin

MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)


def raw_pixels(item) -> np.ndarray:
    """Return the (H, W, 3) 0..255 float image of a transformed item (normalisation undone)."""
    return ((item["image"] * STD + MEAN) * 255.0).permute(1, 2, 0).numpy()


# --- an epoch is the fine images; coarse frames only through class-uniform centroids -------------


def test_epoch_coarse_fraction_matches_the_centroid_shares_by_simulation():
    # 95 fine images; class 0 has 38 fine and 38 coarse centroids, class 1 only 38 coarse ones.
    num_fine, fraction = 95, 1.0
    fine_rows = [[i, 5, 5] for i in range(38)]
    coarse_rows = [[num_fine + i, 5, 5] for i in range(38)]
    centroids = {0: np.array(fine_rows + coarse_rows), 1: np.array(coarse_rows)}
    per_class = int(num_fine * fraction / 19)  # the authors' share: 5 per class
    # Class 1 always gives 5 coarse crops; class 0 draws 5 of 76 without replacement, half coarse.
    expected = (per_class + per_class * 38 / 76) / num_fine
    sd_one = np.sqrt(per_class * 0.25 * (76 - per_class) / 75) / num_fine  # hypergeometric
    fractions = []
    for epoch in range(400):
        plan = build_epoch(num_fine, centroids, fraction, np.random.default_rng([1, epoch]))
        assert len(plan) == num_fine
        random_images = [image for image, center in plan if center is None]
        # The random crops are fine images, each at most once per epoch.
        assert len(random_images) == num_fine - 2 * per_class
        assert len(set(random_images)) == len(random_images) and max(random_images) < num_fine
        fractions.append(sum(image >= num_fine for image, _ in plan) / num_fine)
    assert abs(np.mean(fractions) - expected) < 4 * sd_one / np.sqrt(len(fractions))
    assert 0 < np.std(fractions) < 2 * sd_one


def test_synthetic_epoch_is_led_by_the_fine_images(tmp_path):
    make_synthetic(tmp_path, train=38, val=1, extra=20, size=(64, 128), seed=0)
    dataset = build_train_dataset(
        tmp_path,
        crop_size=32,
        coarse=True,
        class_uniform_fraction=0.5,
        class_uniform_tile=64,
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    assert len(dataset) == 38 and len(dataset.samples) == 58
    coarse = [s.name for s in dataset.samples[38:]]
    assert all("/train_extra/" in name for name in coarse)
    fractions = [dataset.coarse_fraction(epoch) for epoch in range(300)]
    # The plain union would draw 20 / 58 = 34 % coarse; here only class-uniform picks can be.
    uniform = sum(center is not None for _, center in dataset.plan(0)) / len(dataset)
    assert max(fractions) <= uniform <= 0.5
    assert abs(np.mean(fractions) - dataset.expected_coarse_fraction()) < 0.01
    assert "from coarse frames" in dataset.describe()


def test_tile_centroids_are_the_centres_of_mass_per_tile():
    label = np.full((8, 16), 255, np.uint8)
    label[1:3, 2:6] = 4  # left tile: x 2..5, y 1..2 -> (3.5, 1.5) -> (3, 1)
    label[5, 9:16] = 4  # right tile: x 9..15, y 5 -> (12, 5)
    label[0, 8] = 7
    centroids = tile_centroids(label, 8)
    expected_left = ndimage.center_of_mass(label[:, :8] == 4)  # (y, x)
    assert centroids[4][0] == [int(expected_left[1]), int(expected_left[0])] == [3, 1]
    assert centroids[4][1] == [12, 5] and centroids[7] == [[8, 0]]
    assert sorted(centroids) == [4, 7]  # 255 (ignore) is not a class


# --- the crop holds the centroid, at a random place ----------------------------------------------


def test_crop_origin_holds_the_centroid_uniformly():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        height, width = rng.integers(20, 60, 2)
        crop = (int(rng.integers(1, height + 1)), int(rng.integers(1, width + 1)))
        center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        top, left = crop_origin(int(height), int(width), crop, rng, center)
        assert 0 <= top <= height - crop[0] and 0 <= left <= width - crop[1]
        assert top <= center[1] < top + crop[0] and left <= center[0] < left + crop[1]
    # Far from the borders, the centroid's place in the crop is uniform over the crop's columns.
    offsets = [100 - crop_origin(300, 300, (10, 10), rng, (100, 100))[1] for _ in range(5000)]
    counts = np.bincount(offsets, minlength=10)
    assert len(counts) == 10
    chi2 = ((counts - 500) ** 2 / 500).sum()
    assert chi2 < 27.9  # 9 degrees of freedom, p = 0.001


# --- crops past the border: every window holding the centroid, the outside a hole --------------


def test_crop_past_border_holds_the_centroid_uniformly_even_at_the_corner():
    rng = np.random.default_rng(1)
    crop = (10, 10)
    tops, lefts = [], []
    for _ in range(5000):
        top, left = crop_origin(40, 40, crop, rng, (0, 0), past_border=True)
        assert top <= 0 < top + crop[0] and left <= 0 < left + crop[1]
        tops.append(-top)
        lefts.append(-left)
    for offsets in (tops, lefts):
        counts = np.bincount(offsets, minlength=10)
        assert len(counts) == 10
        assert ((counts - 500) ** 2 / 500).sum() < 27.9  # uniform: 9 df, p = 0.001
    # Kept inside the image, the same centroid always gets the corner window.
    assert {crop_origin(40, 40, crop, rng, (0, 0)) for _ in range(50)} == {(0, 0)}


def test_crop_past_border_pads_the_outside_as_a_hole():
    rng = np.random.default_rng(0)
    image = rng.integers(1, 256, (30, 40, 3), dtype=np.uint8)
    label = rng.integers(0, 19, (30, 40), dtype=np.uint8)
    transform = TrainTransform(
        16, scale_range=(1.0, 1.0), color_jitter=0.0, blur=False, crop_past_border=True
    )
    holes = 0
    for seed in range(40):
        item = transform(image, label, center=(39, 0), seed=seed)  # the top-right corner pixel
        valid = item["valid"][0].numpy().astype(bool)
        crop_label = item["label"].numpy()
        pixels = np.round(raw_pixels(item)).astype(int)
        holes += (~valid).sum()
        assert (crop_label[~valid] == 255).all() and (pixels[~valid] == 0).all()
        # The real part is a window of the image (or its mirror), corner pixel included.
        rows, cols = np.nonzero(valid)
        real = pixels[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        height, width = real.shape[:2]
        assert valid[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()
        assert rows.max() == 15  # the hole is above the image, never below
        window = image[:height, 40 - width :].astype(int)
        assert (real == window).all() or (real == window[:, ::-1]).all()
    assert holes > 0
    # Without the option the same draws give crops with no hole at all.
    inside = TrainTransform(16, scale_range=(1.0, 1.0), color_jitter=0.0, blur=False)
    assert all(inside(image, label, center=(39, 0), seed=s)["valid"].all() for s in range(40))


def test_crop_past_border_changes_nothing_away_from_the_border():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (60, 60, 3), dtype=np.uint8)
    label = rng.integers(0, 19, (60, 60), dtype=np.uint8)
    kwargs = dict(scale_range=(0.8, 1.2), color_jitter=0.0)
    plain = TrainTransform(16, **kwargs)
    past = TrainTransform(16, crop_past_border=True, **kwargs)
    for seed in range(20):
        a = plain(image, label, center=(30, 30), seed=seed)
        b = past(image, label, center=(30, 30), seed=seed)
        assert all(torch.equal(a[k], b[k]) for k in ("image", "label", "valid"))


# --- Gaussian blur of every crop, sigma in [0.15, 1.30], after the colour jitter ----------------


def fitted_sigma(output: np.ndarray, image: np.ndarray) -> float:
    """Return the sigma whose Gaussian blur of `image` (or its mirror) is closest to `output`."""
    sigmas = np.arange(0.0, 1.61, 0.02)
    errors = []
    for sigma in sigmas:
        best = np.inf
        for source in (image, image[:, ::-1]):
            blurred = (
                source.astype(np.float64)
                if sigma == 0
                else ndimage.gaussian_filter(
                    source.astype(np.float64), sigma=(sigma, sigma, 0), mode="nearest", truncate=4.0
                )
            )
            best = min(best, np.abs(np.round(blurred) - output).mean())
        errors.append(best)
    return float(sigmas[int(np.argmin(errors))])


def test_every_crop_is_blurred_with_sigma_between_0_15_and_1_30():
    image = np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    label = np.zeros((24, 24), np.uint8)
    transform = TrainTransform(24, scale_range=(1.0, 1.0), color_jitter=0.0)
    sigmas = np.array(
        [fitted_sigma(raw_pixels(transform(image, label, seed=seed)), image) for seed in range(80)]
    )
    # Below sigma 0.3 a 3x3 kernel moves no uint8 value: such crops fit sigma 0. With sigma
    # uniform on [0.15, 1.30] that is 13 % of crops (10 of 80 expected); blurring only half the
    # crops would give over 50 %.
    unseen = sigmas == 0
    assert unseen.sum() < 20
    assert sigmas[~unseen].min() >= 0.28 and sigmas.max() <= 1.32  # never beyond 1.30
    assert sigmas.max() > 1.2  # the top of the range is used
    unblurred = TrainTransform(24, scale_range=(1.0, 1.0), color_jitter=0.0, blur=False)
    assert fitted_sigma(raw_pixels(unblurred(image, label, seed=0)), image) == 0.0


def line_residual(pixels: np.ndarray) -> float:
    """Return how far RGB pixels are from one straight line: 2nd over 1st singular value."""
    centred = pixels.reshape(-1, 3) - pixels.reshape(-1, 3).mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    return float(singular[1] / singular[0])


def test_blur_comes_after_the_colour_jitter():
    # Stripes of two colours. Jitter (brightness, contrast, saturation: affine; hue: per colour)
    # maps them to two colours, and blurring after it only mixes those two: every pixel lies on
    # the line between them. Blurring first makes intermediate colours that the hue shift then
    # bends off that line.
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, :] = (200, 70, 60)
    image[:, 1::2] = (60, 90, 200)
    label = np.zeros((32, 32), np.uint8)
    jittered = TrainTransform(32, scale_range=(1.0, 1.0), color_jitter=0.25)
    ours = [line_residual(raw_pixels(jittered(image, label, seed=seed))) for seed in range(12)]
    reverse = []
    for seed in range(12):
        jitter = A.Compose([A.ColorJitter(0.25, 0.25, 0.25, 0.25, p=1.0)])
        jitter.set_random_seed(seed)
        blurred = ndimage.gaussian_filter(image.astype(np.float64), (1.0, 1.0, 0), mode="nearest")
        reverse.append(line_residual(jitter(image=np.round(blurred).astype(np.uint8))["image"]))
    assert max(ours) < 0.05  # uint8 rounding of the blur only
    assert np.median(reverse) > 0.25  # the property tells the two orders apart
