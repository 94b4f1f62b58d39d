"""symmetric and asymmetric ('same') padding, and timm's convs, against slow references.

The references are written from the definitions with Python loops over output windows:
symmetric padding maps index -1 to 0 and n to n - 1 (numpy's np.pad mode 'symmetric' is the
second, independent check); partial padding is eq. 4-5: sum over the window's real taps times
||1|| / ||M||, plus the bias where M > 0.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from seg.layers import (
    ExplicitPadConv2d,
    PartialConv2d,
    SamePadConv2d,
    get_padding_mode,
    pad_symmetric,
    padding_mode,
    set_padding,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def mirror_index(i, n):
    """Index of padded position i (may be < 0 or >= n) under symmetric padding."""
    while i < 0 or i >= n:
        i = -i - 1 if i < 0 else 2 * n - i - 1
    return i


def reference_conv(x, weight, bias, stride, pads, dilation, mode):
    """Loops over windows: pads = (top, bottom, left, right) per the definitions above."""
    x, weight = x.double().numpy(), weight.double().detach().numpy()
    bias = None if bias is None else bias.double().detach().numpy()
    n, _, h, w = x.shape
    out_c, _, kh, kw = weight.shape
    top, bottom, left, right = pads
    out_h = (h + top + bottom - dilation * (kh - 1) - 1) // stride + 1
    out_w = (w + left + right - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, out_c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            total, taps = np.zeros((n, out_c)), 0
            for a in range(kh):
                for b in range(kw):
                    row, col = i * stride - top + a * dilation, j * stride - left + b * dilation
                    inside = 0 <= row < h and 0 <= col < w
                    if mode == "symmetric":
                        row, col, inside = mirror_index(row, h), mirror_index(col, w), True
                    if inside:
                        total += x[:, :, row, col] @ weight[:, :, a, b].T
                        taps += 1
            if mode == "partial":
                total = total * (kh * kw / taps) if taps else total
            if bias is not None and taps:
                total += bias
            out[:, :, i, j] = total
    return torch.from_numpy(out).float()


def tf_same(n, k, s, d):
    """TensorFlow 'same': output ceil(n / s); the odd extra pad goes after (bottom/right)."""
    total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def test_pad_symmetric_is_numpy_symmetric():
    x = torch.arange(2 * 3 * 5 * 4, dtype=torch.float32).reshape(2, 3, 5, 4)
    padded = pad_symmetric(x, (3, 1, 2, 5))  # left, right, top, bottom
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 5), (3, 1)), mode="symmetric")
    np.testing.assert_array_equal(padded.numpy(), expected)
    # Pads wider than the input keep mirroring, as numpy does.
    wide = pad_symmetric(x, (9, 0, 0, 11))
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (0, 11), (9, 0)), mode="symmetric")
    np.testing.assert_array_equal(wide.numpy(), expected)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), (2, 2, 2), (2, 1, 1)])
def test_symmetric_conv_matches_reference(stride, padding, dilation):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, stride=stride, padding=padding, dilation=dilation)
    set_padding(conv, "symmetric")
    assert type(conv) is ExplicitPadConv2d and get_padding_mode(conv) == "symmetric"
    x = torch.randn(2, 3, 9, 8)
    expected = reference_conv(x, conv.weight, conv.bias, stride, (padding,) * 4, dilation,
                              "symmetric")
    torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel,dilation", [(4, 1), (2, 3), (3, 1)])
@pytest.mark.parametrize("mode", ["partial", "symmetric", "zeros"])
def test_same_padding_of_even_kernels(kernel, dilation, mode):
    # padding='same' with an even kernel pads one more after than before (nn.Conv2d's split).
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation)
    x = torch.randn(2, 3, 10, 9)
    set_padding(conv, mode)
    total = dilation * (kernel - 1)
    pads = (total // 2, total - total // 2) * 2
    expected = reference_conv(x, conv.weight, conv.bias, 1, pads, dilation, mode)
    torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)
    if mode == "partial" and total % 2 == 0:
        assert type(conv) is PartialConv2d  # even padding keeps the fast strip path


timm = pytest.importorskip("timm")


@pytest.mark.parametrize("size", [(11, 12), (16, 9)])
@pytest.mark.parametrize("mode", ["zeros", "partial", "symmetric", "replicate"])
def test_timm_conv2d_same_follows_tensorflow_same(size, mode):
    torch.manual_seed(0)
    conv = timm.layers.Conv2dSame(3, 4, 3, stride=2)
    x = torch.randn(2, 3, *size)
    before = conv(x)
    with padding_mode(conv, mode):
        assert type(conv) is SamePadConv2d
        out = conv(x)
    assert type(conv) is timm.layers.Conv2dSame and torch.equal(conv(x), before)
    (top, bottom), (left, right) = tf_same(size[0], 3, 2, 1), tf_same(size[1], 3, 2, 1)
    if mode == "replicate":
        padded = torch.nn.functional.pad(x, (left, right, top, bottom), mode="replicate")
        expected = reference_conv(padded, conv.weight, conv.bias, 2, (0,) * 4, 1, "zeros")
    else:
        expected = reference_conv(x, conv.weight, conv.bias, 2, (top, bottom, left, right), 1,
                                  mode)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    if mode == "zeros":
        torch.testing.assert_close(out, before, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["resnet10t", "tf_mobilenetv3_small_minimal_100",
                                  "mobilenetv3_small_050"])
def test_timm_models_switch_every_padded_conv(name):
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=10).eval()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1]
    x = torch.randn(1, 3, 67, 61)  # odd sizes: 'same' pads unevenly at the stride-2 layers
    with torch.no_grad():
        before = model(x)
        outputs = {}
        for mode in ("partial", "symmetric", "circular"):
            set_padding(model, mode)
            assert get_padding_mode(model) == mode
            assert all(type(m) in (PartialConv2d, ExplicitPadConv2d, SamePadConv2d, nn.Conv2d)
                       for m in convs)
            outputs[mode] = model(x)
            assert torch.isfinite(outputs[mode]).all()
        set_padding(model, "zeros")
        after = model(x)
    torch.testing.assert_close(after, before, rtol=0, atol=0)
    assert not torch.allclose(outputs["partial"], before)


def test_weight_standardised_timm_convs_are_refused_with_the_reason():
    model = nn.Sequential(timm.layers.StdConv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(TypeError, match="0 is timm's StdConv2d, which standardises its weight"):
        set_padding(model, "partial")
    same = nn.Sequential(timm.layers.StdConv2dSame(3, 4, 3, stride=2))
    with pytest.raises(TypeError, match="StdConv2dSame"):
        set_padding(same, "zeros")
    with pytest.raises(TypeError, match="CondConv2d"):
        set_padding(nn.Sequential(timm.layers.CondConv2d(3, 4, 3, padding="")), "partial")
    # A 1x1 weight-standardised conv pads nothing: no mode changes it, so it is left alone.
    assert set_padding(nn.Sequential(timm.layers.StdConv2d(3, 4, 1)), "partial") is not None
