"""The fast path of rectangle masks (crop, strips, remembered boxes) against the reference."""
import random

import pytest
import torch
from partial_reference import reference_partial_conv2d

from seg.layers import PartialConv2d, clear_ratio_cache, partial_conv2d
from seg.models.valid_ops import add_valid


def boxes_mask(boxes, size, dtype=torch.float64):
    valid = torch.zeros(len(boxes), 1, *size, dtype=dtype)
    for i, (top, bottom, left, right) in enumerate(boxes):
        valid[i, :, top:bottom, left:right] = 1
    return valid


GEOMETRIES = [  # kernel, stride, padding, dilation
    ((3, 3), (1, 1), (1, 1), (1, 1)), ((3, 3), (2, 2), (1, 1), (1, 1)),
    ((3, 3), (1, 1), (4, 4), (4, 4)), ((7, 7), (2, 2), (3, 3), (1, 1)),
    ((1, 1), (2, 2), (0, 0), (1, 1)), ((3, 1), (1, 2), (2, 0), (3, 1)),
    ((5, 3), (2, 1), (6, 1), (1, 2))]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_shared_and_single_rectangles_match_the_reference_with_gradients(geometry):
    kernel, stride, padding, dilation = geometry
    rng = random.Random(str(geometry))
    size = (13, 17)
    # Runs of equal rectangles (one conv each), a whole map, an empty one, a thin one.
    boxes = [(0, 10, 0, 12)] * 3 + [(0, 13, 0, 17), (0, 0, 0, 0), (5, 6, 2, 16)]
    boxes.append((rng.randint(0, 5), rng.randint(7, 13), rng.randint(0, 5), rng.randint(8, 17)))
    valid = boxes_mask(boxes, size)
    torch.manual_seed(0)
    x = torch.randn(len(boxes), 2, *size, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 2, *kernel, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, dtype=torch.float64, requires_grad=True)
    out, valid_out = partial_conv2d(x, weight, bias, stride, padding, dilation, valid=valid)
    ref, ref_valid = reference_partial_conv2d(x, weight, bias, stride, padding, dilation,
                                              valid=valid)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
    assert torch.equal(valid_out, ref_valid)
    upstream = torch.randn_like(ref)
    grads = torch.autograd.grad((out * upstream).sum(), (x, weight, bias))
    ref_grads = torch.autograd.grad((ref * upstream).sum(), (x, weight, bias))
    for grad, ref_grad in zip(grads, ref_grads):
        torch.testing.assert_close(grad, ref_grad, rtol=1e-9, atol=1e-9)


def test_a_mask_changed_in_place_is_read_again():
    x = torch.randn(1, 2, 9, 9, dtype=torch.float64)
    weight = torch.randn(2, 2, 3, 3, dtype=torch.float64)
    valid = boxes_mask([(0, 7, 0, 8)], (9, 9))
    partial_conv2d(x, weight, None, 1, 1, valid=valid)  # remembered as a rectangle
    valid[0, 0, 3, 3] = 0  # now a rectangle with a hole: the general path must run
    out, _ = partial_conv2d(x, weight, None, 1, 1, valid=valid)
    ref, _ = reference_partial_conv2d(x, weight, None, 1, 1, valid=valid)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)


def test_sum_of_remembered_masks_is_their_intersection():
    x = torch.randn(2, 2, 12, 12, dtype=torch.float64)
    weight = torch.randn(2, 2, 3, 3, dtype=torch.float64)
    one_by_one = torch.randn(2, 2, 1, 1, dtype=torch.float64)
    valid = boxes_mask([(0, 8, 0, 10), (2, 12, 1, 5)], (12, 12))
    other = boxes_mask([(3, 12, 2, 12), (0, 5, 0, 12)], (12, 12))
    a, valid_a = partial_conv2d(x, weight, None, 1, 1, valid=valid)  # grows by one pixel
    b, valid_b = partial_conv2d(x, one_by_one, None, valid=valid)  # stays the same
    c, valid_c = partial_conv2d(x, one_by_one, None, valid=other)
    for first, second in ((valid_a, valid_b), (valid_a, valid_c), (valid_c, valid_b)):
        _, valid_sum = add_valid(a, first, b, second)
        assert torch.equal(valid_sum, first * second)
        # The next conv trusts the remembered boxes of the sum: they must be right.
        out, valid_out = partial_conv2d(x, weight, None, 1, 1, valid=valid_sum)
        ref, ref_valid = reference_partial_conv2d(x, weight, None, 1, 1, valid=first * second)
        torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
        assert torch.equal(valid_out, ref_valid)


def test_ratios_cached_in_inference_mode_serve_training():
    clear_ratio_cache()
    conv = PartialConv2d(2, 3, 3, padding=1).double()
    x = torch.randn(2, 2, 8, 8, dtype=torch.float64)
    valid = boxes_mask([(0, 6, 0, 7)] * 2, (8, 8))
    with torch.inference_mode():
        conv(x)
        partial_conv2d(x, conv.weight, conv.bias, 1, 1, valid=valid)
    # Autograd saves the cached factors: they must not be inference tensors.
    masked, _ = partial_conv2d(x, conv.weight, conv.bias, 1, 1, valid=valid)
    (conv(x).sum() + masked.sum()).backward()
    assert conv.weight.grad is not None and torch.isfinite(conv.weight.grad).all()
