"""partial_conv2d and PartialConv2d against the slow reference of eq. 1-5 (partial_reference.py)."""
import random

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from partial_reference import reference_partial_conv2d

from seg.layers import PartialConv2d, partial_conv2d

pytestmark = pytest.mark.usefixtures("one_thread")


def random_case(rng: random.Random, dtype):
    """Returns (args, kwargs) of one random convolution whose output is not empty."""
    while True:
        groups = rng.choice([1, 1, 2, 3])
        c_in, c_out = groups * rng.randint(1, 3), groups * rng.randint(1, 3)
        kernel = (rng.randint(1, 5), rng.randint(1, 5))
        stride = (rng.randint(1, 3), rng.randint(1, 3))
        dilation = (rng.randint(1, 2), rng.randint(1, 2))
        padding = (rng.randint(0, 6), rng.randint(0, 6))  # often larger than the kernel
        size = (rng.randint(1, 13), rng.randint(1, 13))
        extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        if all(s + 2 * p >= e for s, p, e in zip(size, padding, extent)):
            break
    x = torch.randn(2, c_in, *size, dtype=dtype)
    weight = torch.randn(c_out, c_in // groups, *kernel, dtype=dtype)
    bias = torch.randn(c_out, dtype=dtype) if rng.random() < 0.7 else None
    return (x, weight, bias, stride, padding, dilation, groups)


def random_mask(rng: random.Random, kind, n, size, dtype):
    """Returns None, a random rectangle per sample (possibly empty) or an arbitrary 0/1 mask."""
    if kind == "none":
        return None
    if kind == "arbitrary":
        return (torch.rand(n, 1, *size) < 0.6).to(dtype)
    valid = torch.zeros(n, 1, *size, dtype=dtype)
    for i in range(n):
        top, left = rng.randint(0, size[0] - 1), rng.randint(0, size[1] - 1)
        valid[i, :, top:rng.randint(top, size[0]), left:rng.randint(left, size[1])] = 1
    return valid


def assert_close_relative(actual, expected, rtol):
    """Asserts |actual - expected| <= rtol * max|expected| elementwise (scale-relative)."""
    scale = max(expected.abs().max().item(), 1.0)
    err = (actual - expected).abs().max().item() if expected.numel() else 0.0
    assert err <= rtol * scale, f"max error {err:.3g} > {rtol:g} * {scale:.3g}"


@pytest.mark.parametrize("dtype, rtol", [(torch.float32, 1e-5), (torch.float64, 1e-9)])
@pytest.mark.parametrize("kind", ["none", "rectangle", "arbitrary"])
@pytest.mark.parametrize("autograd", [False, True], ids=["inference", "autograd"])
def test_matches_reference(dtype, rtol, kind, autograd):
    # Inference re-weights border strips in place; under autograd a full ratio map multiplies.
    rng = random.Random(f"{dtype}-{kind}")
    torch.manual_seed(rng.randint(0, 2**31))
    for _ in range(60):
        x, weight, bias, stride, padding, dilation, groups = random_case(rng, dtype)
        valid = random_mask(rng, kind, x.shape[0], x.shape[-2:], dtype)
        weight.requires_grad_(autograd)
        out, valid_out = partial_conv2d(x, weight, bias, stride, padding, dilation, groups,
                                        valid=valid)
        assert out.requires_grad == autograd
        ref, ref_valid = reference_partial_conv2d(x, weight, bias, stride, padding, dilation,
                                                  groups, valid=valid)
        assert out.shape == ref.shape and out.dtype == dtype
        assert_close_relative(out, ref, rtol)
        if valid is None:
            assert valid_out is None  # padding mode: every output is valid, documented as None
        else:
            assert torch.equal(valid_out, ref_valid) and valid_out.dtype == dtype


def test_empty_windows_are_zero_bias_included():
    # Kernel 3, padding 3: the outermost ring of windows lies entirely in the padding.
    x, weight, bias = torch.randn(1, 2, 4, 4), torch.randn(3, 2, 3, 3), torch.full((3,), 5.0)
    out, _ = partial_conv2d(x, weight, bias, padding=3)
    for edge in (out[..., 0, :], out[..., -1, :], out[..., :, 0], out[..., :, -1]):
        assert torch.equal(edge, torch.zeros_like(edge))
    assert (out[..., 2:-2, 2:-2] != 0).all()


@pytest.mark.parametrize("kind", ["none", "rectangle", "arbitrary"])
def test_gradcheck_float64(kind):
    rng = random.Random(kind)
    for stride, padding, dilation, groups in [(1, 1, 1, 1), (2, 3, 1, 2), ((1, 2), (2, 1), 2, 1)]:
        x = torch.randn(2, 2, 5, 4, dtype=torch.float64, requires_grad=True)
        weight = torch.randn(2, 2 // groups, 3, 3, dtype=torch.float64, requires_grad=True)
        bias = torch.randn(2, dtype=torch.float64, requires_grad=True)
        valid = random_mask(rng, kind, 2, (5, 4), torch.float64)

        def conv(x, weight, bias):
            return partial_conv2d(x, weight, bias, stride, padding, dilation, groups, valid)[0]

        assert torch.autograd.gradcheck(conv, (x, weight, bias))


def test_interior_equals_zero_padding_exactly():
    torch.manual_seed(0)
    x, weight, bias = torch.randn(2, 8, 20, 17), torch.randn(6, 8, 3, 3), torch.randn(6)
    for padding, dilation, border in [(1, 1, 1), (2, 2, 2), (4, 1, 4)]:
        out, _ = partial_conv2d(x, weight, bias, padding=padding, dilation=dilation)
        zero = F.conv2d(x, weight, bias, padding=padding, dilation=dilation)
        inner = (..., slice(border, -border), slice(border, -border))
        assert torch.equal(out[inner], zero[inner])
        assert not torch.allclose(out, zero)  # the border does differ


def test_constant_input_gives_flat_output():
    # Partial padding re-weights as if the padding held the mean of the real taps: with kernels
    # constant over space, a constant image stays constant up to the border, where zero padding
    # darkens it.
    conv = PartialConv2d(3, 5, 5, stride=2, padding=2, dilation=1)
    x = torch.full((2, 3, 23, 18), 0.7)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(5, 3, 1, 1).expand_as(conv.weight))
        out = conv(x)
        zero = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding)
    flat = out[..., :1, :1].expand_as(out)  # the corner, the most re-weighted window
    assert torch.allclose(out, flat, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(zero, zero[..., :1, :1].expand_as(zero), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_has_no_nan_or_inf(dtype):
    # CPU float16 convolution runs on this torch build, so both half types are tested on CPU.
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6, 5, dtype=dtype, requires_grad=True)
    weight = torch.randn(3, 4, 3, 3, dtype=dtype, requires_grad=True)
    bias = torch.randn(3, dtype=dtype, requires_grad=True)
    valid = (torch.rand(2, 1, 6, 5) < 0.5).to(dtype)
    for mask in (None, valid):
        out, _ = partial_conv2d(x, weight, bias, padding=3, valid=mask)  # windows fully in padding
        out.float().square().sum().backward()
        for t in (out, x.grad, weight.grad, bias.grad):
            assert torch.isfinite(t).all()
        ref, _ = reference_partial_conv2d(x.double(), weight.double(), bias.double(), padding=3,
                                          valid=None if mask is None else mask.double())
        assert_close_relative(out.double(), ref, 2e-2)
        x.grad = weight.grad = bias.grad = None


@pytest.mark.parametrize("kind", ["none", "rectangle", "arbitrary"])
@pytest.mark.parametrize("autograd", [False, True], ids=["inference", "autograd"])
@pytest.mark.parametrize("kernel, padding, dilation", [(3, 2, 2), (1, 0, 1)])
def test_autocast_output_dtype_is_the_convolution_dtype(kind, autograd, kernel, padding, dilation):
    # Under autocast the conv computes in bfloat16: neither the ratio, the bias, the mask nor an
    # empty sample may promote it back to float32.
    torch.manual_seed(0)
    conv = PartialConv2d(4, 3, kernel, padding=padding, dilation=dilation)
    conv.requires_grad_(autograd)
    x = torch.randn(2, 4, 9, 7)
    valid = random_mask(random.Random(0), kind, 2, (9, 7), torch.float32)  # sample 0 empty
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = partial_conv2d(x, conv.weight, conv.bias, 1, padding, dilation, valid=valid)
    ref, _ = reference_partial_conv2d(x.double(), conv.weight.double(), conv.bias.double(),
                                      padding=padding, dilation=dilation,
                                      valid=None if valid is None else valid.double())
    assert out.dtype == torch.bfloat16
    assert_close_relative(out.double(), ref, 3e-2)


@pytest.mark.parametrize("autograd", [False, True], ids=["inference", "autograd"])
def test_autocast_leaves_float64_exact(autograd):
    # Autocast does not cast float64: the conv and its ratio stay float64, exact to the reference.
    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    weight = torch.randn(4, 3, 5, 5, dtype=torch.float64, requires_grad=autograd)
    bias = torch.randn(4, dtype=torch.float64)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # ratios 25/15, 25/12, ...: not exact in bf16
        out, _ = partial_conv2d(x, weight, bias, padding=2)
    ref, _ = reference_partial_conv2d(x, weight, bias, padding=2)
    assert out.dtype == torch.float64
    assert_close_relative(out, ref, 1e-9)


def test_padding_zero_is_the_plain_convolution():
    torch.manual_seed(0)
    x, weight, bias = torch.randn(2, 4, 9, 9), torch.randn(6, 4, 3, 3), torch.randn(6)
    out, valid_out = partial_conv2d(x, weight, bias, stride=2, padding=0)
    assert torch.equal(out, F.conv2d(x, weight, bias, stride=2)) and valid_out is None


def test_module_has_conv2d_state_and_padding_mode_forward():
    torch.manual_seed(0)
    conv = PartialConv2d(4, 6, 3, stride=2, padding=1, bias=True)
    plain = nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=True)
    assert list(conv.state_dict()) == list(plain.state_dict())
    plain.load_state_dict(conv.state_dict(), strict=True)
    x = torch.randn(3, 4, 10, 11)
    ref, _ = reference_partial_conv2d(x, conv.weight, conv.bias, 2, 1)
    assert_close_relative(conv(x), ref, 1e-5)
    with pytest.raises(ValueError, match="padding_mode"):
        PartialConv2d(4, 6, 3, padding=1, padding_mode="reflect")
