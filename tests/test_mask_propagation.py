"""Mask propagation: per-op rules against slow references, and holes never read by the models."""
import copy

import pytest
import torch
import torch.nn.functional as F

from seg.layers import set_padding
from seg.models import build_model
from seg.models.resnet import small_trunk
from seg.models.valid_ops import average_pool_valid, interpolate_valid, max_pool2d_valid


def random_valid(n, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    valid = (torch.rand(n, 1, h, w, generator=g) > 0.4).float()
    valid[0, :, :3, :4] = 0  # a block of holes, so some windows see no real pixel
    return valid


def padded(images, real_h, real_w):
    """Returns the mask of images padded below and right of real_h x real_w (per image)."""
    valid = torch.zeros(images.shape[0], 1, *images.shape[-2:])
    for i, (h, w) in enumerate(zip(real_h, real_w)):
        valid[i, :, :h, :w] = 1
    return valid


def test_max_pool_holes_never_win():
    x = torch.randn(2, 3, 7, 9) - 5  # negative, so a 0 from a hole would win a plain max
    valid = random_valid(2, 7, 9)
    out, valid_out = max_pool2d_valid(x, valid, 3, 2, 1)
    for n in range(2):
        for i in range(out.shape[2]):
            for j in range(out.shape[3]):
                rows = slice(max(0, 2 * i - 1), 2 * i + 2)
                cols = slice(max(0, 2 * j - 1), 2 * j + 2)
                real = valid[n, 0, rows, cols].bool()
                # Real where the window's centre tap (2i, 2j) is real, as a conv's region.
                centre = bool(valid[n, 0, 2 * i, 2 * j])
                assert valid_out[n, 0, i, j] == float(centre)
                expected = (x[n, :, rows, cols][:, real].amax(dim=1) if centre
                            else torch.zeros(3))
                assert torch.equal(out[n, :, i, j], expected)


@pytest.mark.parametrize("window", [None, (3, 5), (101, 101)])
def test_average_pool_over_real_pixels_only(window):
    x = torch.randn(2, 3, 7, 9)
    valid = random_valid(2, 7, 9)
    out, valid_out = average_pool_valid(x, valid, window)
    assert valid_out is valid
    for n in range(2):
        for i in range(7):
            for j in range(9):
                if window is None:
                    rows, cols = slice(None), slice(None)
                else:
                    rows = slice(max(0, i - window[0] // 2), i + window[0] // 2 + 1)
                    cols = slice(max(0, j - window[1] // 2), j + window[1] // 2 + 1)
                real = valid[n, 0, rows, cols].bool()
                expected = (x[n, :, rows, cols][:, real].mean(dim=1) if real.any()
                            else torch.zeros(3))
                got = out[n, :, 0, 0] if window is None else out[n, :, i, j]
                torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
                if window is None:
                    break
            if window is None:
                break


def test_interpolation_reads_real_pixels_only():
    x = torch.randn(2, 3, 6, 10)
    valid = random_valid(2, 6, 10)
    constant = torch.where(valid.bool(), torch.full_like(x, 2.5), torch.randn_like(x) * 100)
    out, valid_out = interpolate_valid(constant, valid, (13, 21))
    # A normalised interpolation of a field that is constant on the real pixels is that constant.
    real = valid_out.bool().expand_as(out)
    torch.testing.assert_close(out[real], torch.full_like(out[real], 2.5))
    # The output is real where a real pixel has a non-zero weight: the plain interpolation of
    # the mask (an independent implementation of the weights) is > 0 there.
    plain = F.interpolate(valid, size=(13, 21), mode="bilinear", align_corners=False)
    assert torch.equal(valid_out, (plain > 0).float())


@pytest.mark.parametrize("size", [(12, 20), (13, 21), (5, 7)])
def test_ops_with_valid_ones_are_the_plain_ops_bit_for_bit(size):
    x = torch.randn(2, 4, 6, 10)
    ones = torch.ones(2, 1, 6, 10)
    assert torch.equal(interpolate_valid(x, ones, size)[0],
                       F.interpolate(x, size=size, mode="bilinear", align_corners=False))
    assert torch.equal(max_pool2d_valid(x, ones, 3, 2, 1)[0], F.max_pool2d(x, 3, 2, 1))
    torch.testing.assert_close(average_pool_valid(x, None)[0], F.adaptive_avg_pool2d(x, 1))
    for window in [None, (3, 3), (5, 9)]:
        assert torch.equal(average_pool_valid(x, ones, window)[0],
                           average_pool_valid(x, None, window)[0])


def test_trunk_mask_follows_the_rules():
    # Real region 41x41 of 64x64, small trunk at stride 8. Each stride-2 conv or pool keeps the
    # outputs whose window centre is real, ceil(41 / 2) = 21, then 11, then 6: the sizes of the
    # 41x41 image's own feature maps (eq. 3 would give 22 after the stem).
    trunk = set_padding(small_trunk(), "partial").eval()
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _, low_valid, _, high_valid = trunk(images, padded(images, [41], [41]))
        alone_low, _, alone_high, _ = trunk(images[:, :, :41, :41])
    expected_low = torch.zeros(16, 16)
    expected_low[:11, :11] = 1
    expected_high = torch.zeros(8, 8)
    expected_high[:6, :6] = 1
    assert torch.equal(low_valid[0, 0], expected_low)
    assert torch.equal(high_valid[0, 0], expected_high)
    assert alone_low.shape[-2:] == (11, 11) and alone_high.shape[-2:] == (6, 6)


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    out = {name: build_model(name).eval() for name in
           ("deeplabv3plus_small", "deeplabv3plus_resnet50", "deeplabv3plus_wrn38")}
    for model in out.values():  # non-trivial BN statistics, as after training
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.bias.data.uniform_(-0.2, 0.2)
    return out


@pytest.mark.parametrize("name", ["deeplabv3plus_small", "deeplabv3plus_resnet50"])
@torch.no_grad()
def test_valid_all_ones_equals_no_mask(models, name):
    model = models[name]
    images = torch.randn(2, 3, 48, 64)
    plain = model(images)
    assert torch.equal(model(images, torch.ones(2, 1, 48, 64)), plain)
    # Without the no-hole shortcut: a real image next to a padded one goes through the mask
    # path and must still give its own logits (up to float rounding of the re-weighting).
    valid = padded(images, [48, 30], [64, 41])
    torch.testing.assert_close(model(images, valid)[:1], plain[:1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name, size, real", [
    ("deeplabv3plus_small", (96, 128), ([96, 50], [70, 128])),
    ("deeplabv3plus_resnet50", (64, 96), ([37], [45])),
    ("deeplabv3plus_wrn38", (40, 48), ([23], [29])),
])
@torch.no_grad()
def test_holes_are_never_read(models, name, size, real):
    model = models[name]
    images = torch.randn(len(real[0]), 3, *size)
    valid = padded(images, *real)
    changed = torch.where(valid.bool(), images, torch.randn_like(images) * 50)
    first, second = model(images, valid), model(changed, valid)
    region = valid.bool().expand_as(first)
    assert torch.equal(first[region], second[region])
    if name == "deeplabv3plus_small":  # the test can fail: without the mask holes are read
        assert not torch.equal(model(images)[region], model(changed)[region])


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "grad"])
def test_autocast_logits_keep_the_autocast_dtype_with_a_mask(models, grad):
    # The mask has the images' dtype (float32); the half-precision features must not be promoted
    # by it: a padded batch gives logits of the same dtype as a batch without holes.
    model = models["deeplabv3plus_small"]
    images = torch.randn(2, 3, 64, 80)
    valid = padded(images, [64, 40], [80, 50])
    with torch.set_grad_enabled(grad), torch.autocast("cpu", dtype=torch.bfloat16):
        plain, masked = model(images), model(images, valid)
    assert plain.dtype == masked.dtype == torch.bfloat16


def test_holes_never_read_in_train_mode_nor_by_gradients():
    torch.manual_seed(0)
    model = build_model("deeplabv3plus_small").train()
    twin = copy.deepcopy(model)
    images = torch.randn(2, 3, 96, 128)
    valid = padded(images, [96, 50], [70, 128])
    changed = torch.where(valid.bool(), images, torch.randn_like(images) * 50)
    images.requires_grad_(True)
    first = model(images, valid)
    second = twin(changed, valid)
    region = valid.bool().expand_as(first)
    assert torch.equal(first[region], second[region])
    # Batch statistics see holes only as values fixed by the parameters, never the hole pixels.
    for a, b in zip(model.buffers(), twin.buffers()):
        assert torch.equal(a, b)
    first[region].sum().backward()
    assert images.grad[~valid.bool().expand_as(images)].abs().max() == 0
    assert images.grad[valid.bool().expand_as(images)].abs().max() > 0


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@torch.no_grad()
def test_other_padding_modes_ignore_valid(mode):
    torch.manual_seed(0)
    model = build_model("deeplabv3plus_small", padding=mode).eval()
    images = torch.randn(1, 3, 320, 320)
    valid = padded(images, [200], [250])
    assert torch.equal(model(images, valid), model(images))


@torch.no_grad()
def test_window_pooling_wider_than_the_map_is_global_pooling():
    torch.manual_seed(0)
    model = build_model("deeplabv3plus_small").eval()
    windowed = build_model("deeplabv3plus_small", aspp_pool_size=10_000).eval()
    windowed.load_state_dict(model.state_dict())
    images = torch.randn(2, 3, 64, 96)
    valid = padded(images, [64, 40], [50, 96])
    torch.testing.assert_close(windowed(images), model(images), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(windowed(images, valid), model(images, valid), rtol=1e-4,
                               atol=1e-5)
    small_window = build_model("deeplabv3plus_small", aspp_pool_size=64).eval()
    small_window.load_state_dict(model.state_dict())
    assert not torch.allclose(small_window(images), model(images), atol=1e-3)


def test_valid_of_the_wrong_shape_is_rejected():
    model = build_model("deeplabv3plus_small").eval()
    with pytest.raises(ValueError, match=r"valid has shape \(2, 1, 32, 32\)"):
        model(torch.randn(2, 3, 64, 64), torch.ones(2, 1, 32, 32))
