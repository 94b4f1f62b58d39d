"""conv2d_valid: one step of mask propagation, checked against the slow reference of eq. 1-3."""
import pytest
import torch
import torch.nn as nn
from partial_reference import reference_partial_conv2d

from seg.layers import PartialConv2d, conv2d_valid

pytestmark = pytest.mark.usefixtures("one_thread")


def make_input(seed=0):
    torch.manual_seed(seed)
    x = torch.randn(2, 4, 11, 10)
    valid = torch.zeros(2, 1, 11, 10)
    valid[0, :, :7, :9] = 1  # a padded crop: a rectangle
    valid[1] = (torch.rand(1, 11, 10) < 0.7).float()  # arbitrary holes
    return x, valid


def assert_matches_reference(conv, x, valid):
    out, valid_out = conv2d_valid(conv, x, valid)
    ref, ref_valid = reference_partial_conv2d(x, conv.weight, conv.bias, conv.stride,
                                              conv.padding, conv.dilation, conv.groups, valid)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())
    assert torch.equal(valid_out, ref_valid)
    return out, valid_out


def test_without_mask_is_the_conv():
    x, _ = make_input()
    for conv in (nn.Conv2d(4, 3, 3, padding=1), PartialConv2d(4, 3, 3, padding=1)):
        out, valid_out = conv2d_valid(conv, x, None)
        assert torch.equal(out, conv(x)) and valid_out is None


def test_partial_conv_uses_the_mask():
    x, valid = make_input()
    out, _ = assert_matches_reference(PartialConv2d(4, 3, 3, stride=2, padding=1, bias=True), x,
                                      valid)
    assert not torch.allclose(out, PartialConv2d(4, 3, 3, stride=2, padding=1)(x))


def test_unpadded_plain_conv_follows_eq_1_to_3():
    x, valid = make_input()
    # A 1x1 stride-2 projection: holes give 0 (bias included) and the mask is subsampled.
    out, valid_out = assert_matches_reference(nn.Conv2d(4, 3, 1, stride=2, bias=True), x, valid)
    assert torch.equal(valid_out, valid[:, :, ::2, ::2])
    assert torch.equal(out * (1 - valid_out), torch.zeros_like(out))
    # A larger kernel without padding re-weights by the mask like any partial convolution.
    assert_matches_reference(nn.Conv2d(4, 3, 3, dilation=2, bias=True), x, valid)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_padded_plain_conv_drops_the_mask(mode):
    x, valid = make_input()
    conv = nn.Conv2d(4, 3, 3, padding=1, padding_mode=mode)
    out, valid_out = conv2d_valid(conv, x, valid)
    assert torch.equal(out, conv(x)) and valid_out is None
