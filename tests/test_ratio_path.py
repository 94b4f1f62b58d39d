"""Both ratio paths (border strips, one fused op) forced on the CPU against the slow reference."""
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from partial_reference import reference_partial_conv2d
from test_partial_conv2d import assert_close_relative, random_case, random_mask

from seg.layers import PartialConv2d, partial_conv2d, partial_path
from seg.layers.ratio_path import _check, ratio_path

pytestmark = pytest.mark.usefixtures("one_thread")
PATHS = ("strips", "fused")


def reference_grads(args, valid, grad_out):
    """Returns the reference's (output, grad x, grad weight, grad bias) in float64."""
    x, weight, bias, stride, padding, dilation, groups = args
    leaves = [t.detach().double().requires_grad_() if t is not None else None
              for t in (x, weight, bias)]
    out, _ = reference_partial_conv2d(*leaves, stride, padding, dilation, groups,
                                      valid=None if valid is None else valid.double())
    out.backward(grad_out.double())
    return [out.detach()] + [None if t is None else t.grad for t in leaves]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", ["none", "rectangle"])
@pytest.mark.parametrize("autograd", [False, True], ids=["inference", "autograd"])
def test_path_matches_reference_with_gradients(path, kind, autograd):
    # Random geometries, padding often wider than the kernel: many windows with no real tap.
    rng = random.Random(f"{path}-{kind}-{autograd}")
    torch.manual_seed(rng.randint(0, 2**31))
    for _ in range(40):
        args = random_case(rng, torch.float64)
        x, weight, bias = args[:3]
        valid = random_mask(rng, kind, x.shape[0], x.shape[-2:], torch.float64)
        for t in (x, weight, bias):
            if t is not None:
                t.requires_grad_(autograd)
        with partial_path(path):
            out, _ = partial_conv2d(*args, valid=valid)
        grad_out = torch.randn_like(out)
        ref = reference_grads(args, valid, grad_out)
        assert_close_relative(out.detach(), ref[0], 1e-9)
        if autograd:
            out.backward(grad_out)
            for t, expected in zip((x, weight, bias), ref[1:]):
                if t is not None:  # no grad at all: a sample with no real pixel reads nothing
                    grad = torch.zeros_like(t) if t.grad is None else t.grad
                    assert_close_relative(grad, expected, 1e-9)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("autograd", [False, True], ids=["inference", "autograd"])
def test_path_half_precision(path, dtype, autograd):
    # Padding 3 with a 3x3 kernel: the outer ring of windows has no real tap (ratio 0, not inf).
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6, 5, dtype=dtype, requires_grad=autograd)
    weight = torch.randn(3, 4, 3, 3, dtype=dtype, requires_grad=autograd)
    bias = torch.randn(3, dtype=dtype, requires_grad=autograd)
    with partial_path(path):
        out, _ = partial_conv2d(x, weight, bias, padding=3)
    assert out.dtype == dtype
    grad_out = torch.randn(out.shape, dtype=torch.float64)
    ref = reference_grads((x, weight, bias, 1, 3, 1, 1), None, grad_out)
    assert torch.isfinite(out).all()
    assert_close_relative(out.detach().double(), ref[0], 2e-2)
    assert (out[..., 0, :] == 0).all() and (out[..., :, -1] == 0).all()  # bias included
    if autograd:
        out.backward(grad_out.to(dtype))
        for t, expected in zip((x, weight, bias), ref[1:]):
            assert t.grad.dtype == dtype and torch.isfinite(t.grad).all()
            assert_close_relative(t.grad.double(), expected, 3e-2)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("autograd", [False, True], ids=["inference", "autograd"])
def test_path_under_autocast_keeps_the_convolution_dtype(path, autograd):
    torch.manual_seed(0)
    conv = PartialConv2d(4, 3, 3, padding=2, dilation=2).requires_grad_(autograd)
    x = torch.randn(2, 4, 9, 7)
    with partial_path(path), torch.autocast("cpu", dtype=torch.bfloat16):
        out = conv(x)
    assert out.dtype == torch.bfloat16
    ref, _ = reference_partial_conv2d(x.double(), conv.weight.double(), conv.bias.double(),
                                      padding=2, dilation=2)
    assert_close_relative(out.detach().double(), ref, 3e-2)
    if autograd:
        out.float().sum().backward()
        assert conv.bias.grad.dtype == torch.float32
        # d(sum)/d(bias) counts the windows with a real tap: every window here.
        assert torch.allclose(conv.bias.grad, torch.full((3,), 2.0 * 9 * 7), rtol=1e-2)


@pytest.mark.parametrize("path", PATHS)
def test_gradcheck_with_empty_windows(path):
    torch.manual_seed(0)
    x = torch.randn(2, 2, 4, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def conv(x, weight, bias):
        with partial_path(path):
            return partial_conv2d(x, weight, bias, (1, 2), 3, 1, 1)[0]

    assert torch.autograd.gradcheck(conv, (x, weight, bias))


def test_fused_bias_follows_in_place_updates_and_dtype_changes():
    # The fused path keeps one (C, 1, 1) view per bias: it must see optimiser steps and
    # load_state_dict (in place), and a conversion that replaces the parameter's data.
    torch.manual_seed(0)
    conv = PartialConv2d(3, 4, 3, padding=1)
    x = torch.randn(1, 3, 6, 7)
    with partial_path("fused"), torch.no_grad():
        conv(x)
        conv.bias.add_(1.0)
        ref, _ = reference_partial_conv2d(x, conv.weight, conv.bias, padding=1)
        assert_close_relative(conv(x), ref, 1e-5)
        conv.double()
        ref, _ = reference_partial_conv2d(x.double(), conv.weight, conv.bias, padding=1)
        assert_close_relative(conv(x.double()), ref, 1e-9)


def test_path_follows_the_device_and_the_setting():
    assert ratio_path(torch.device("cpu")) == "strips"
    assert ratio_path(torch.device("cuda", 0)) == "fused"  # a launch-bound device
    with partial_path("fused"):
        assert ratio_path(torch.device("cpu")) == "fused"
        with partial_path(None):  # None leaves the setting alone
            assert ratio_path(torch.device("cpu")) == "fused"
    assert ratio_path(torch.device("cpu")) == "strips"
    with pytest.raises(ValueError, match="strips, fused"):
        with partial_path("fast"):
            pass


def test_environment_variable_sets_the_process_default():
    code = ("import torch; from seg.layers.ratio_path import ratio_path; "
            "print(ratio_path(torch.device('cpu')))")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "SEG_PARTIAL_PATH": "fused"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=root, check=True)
    assert done.stdout.strip() == "fused"
    with pytest.raises(ValueError, match="SEG_PARTIAL_PATH='fastest' is not"):
        _check("fastest", "SEG_PARTIAL_PATH")  # what an unknown value meets at import
