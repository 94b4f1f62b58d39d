"""Mask propagation for the ops between convolutions ("case of big padding size", paper sec. 3).

Every function takes and returns a feature map together with its `valid` mask: a float
(N, 1, H, W) tensor of 0/1 in the feature's dtype, 1 where the feature is computed from real
pixels, 0 in the holes (the padding of a padded batch). `valid=None` means "every pixel is
real", and a mask of ones gives bit for bit the same result as None. The convolutions themselves
carry the mask with `seg.models.valid_region.conv_valid`: eq. 1-3 for the values (holes are
never read), and as output mask the region the image alone would have (valid_region explains
why that, rather than eq. 3's growing mask, gives each image of a padded batch its own logits).

The rules, one per op:

* residual addition and concatenation: the result is real where *every* input is real (the
  product of the masks). A sum or a stacked feature vector with one part made of hole values
  is not a real feature, so the mask never grows through these ops. In a residual block the
  main branch's mask contains the shortcut's, so the block's mask is the shortcut's: the real
  region keeps the size of the input image's real region at every stride instead of growing
  by a dilated kernel per layer.
* max-pooling: holes never win a max (they are set to -inf before pooling); the output mask is
  the centre-tap region of the window, like a conv's; outside it the output is 0.
* bilinear interpolation to a `target` mask (the real region at the output resolution): each
  sample's real box is resized onto its target box, as the image alone is resized whole.
  Without a target, or for masks that are not rectangles, a normalised interpolation,
  up(x * valid) / up(valid), so the interpolation weights of hole pixels are given to the real
  neighbours; the output mask is 1 where any real pixel contributes. Where the hole weight is
  below 1e-5 the division is skipped (all-real neighbourhoods, where up(1) may differ from 1 by
  an ulp), which keeps `valid` all ones bit-identical to no mask.
* average pooling (ASPP image pooling): the mean over real pixels only, sum(x * valid) /
  sum(valid), globally or over a fixed window (a box of the given size centred on each pixel,
  clipped to the map: partial padding of the box filter). The output mask is the input mask.

Why hole *contents* never reach the real region, in eval and in train mode: the first
convolution masks the input (eq. 1), and every later hole value is computed from the
parameters and real pixels only (0 from a conv, or a conv of real pixels just outside an
image's region, then BN/ReLU of those, sums and maxima, the broadcast image pooling). The one
place where holes still count is train-mode BatchNorm: its batch statistics average over every
position, holes included. Their values do not depend on the hole pixels (so changing hole
pixels changes nothing, which the tests check in train mode too), but the *fraction* of holes
shifts the statistics. It only arises when training on padded batches (fixed-size crops have
no holes). The models keep nn.BatchNorm2d (the `norm_layer` argument, checkpoints and
SyncBatchNorm conversion stay standard); the training option train.masked_batchnorm (default
off) swaps it for seg.layers.MaskedBatchNorm2d, whose statistics cover the real pixels only.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from seg.layers.boxes import known_boxes, remember_boxes
from seg.models.valid_region import centre_region, conv_valid, resize_to_region

# Hole weight below which bilinear interpolation is not re-normalised (see the module docstring).
_HOLE_WEIGHT_TOLERANCE = 1e-5


def check_valid(images: torch.Tensor, valid: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """Returns valid as a (N, 1, H, W) 0/1 tensor in the images' dtype (None stays None)."""
    if valid is None:
        return None
    if valid.dim() == 3:
        valid = valid.unsqueeze(1)
    n, _, h, w = images.shape
    if tuple(valid.shape) != (n, 1, h, w):
        raise ValueError(
            f"valid has shape {tuple(valid.shape)} but images {tuple(images.shape)} need "
            f"({n}, 1, {h}, {w}); pass the batch's 'valid' mask (1 = real pixel) or None")
    return valid.to(dtype=images.dtype, device=images.device)


def sequential_valid(layers: nn.Sequential, x: torch.Tensor, valid: Optional[torch.Tensor]):
    """Returns (x, valid) after running layers in order, carrying valid through the convs.

    Non-conv layers (BatchNorm, ReLU, Dropout) act per pixel and leave the mask unchanged.
    """
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            x, valid = conv_valid(layer, x, valid)
        else:
            x = layer(x)
    return x, valid


def add_valid(a: torch.Tensor, valid_a: Optional[torch.Tensor], b: torch.Tensor,
              valid_b: Optional[torch.Tensor]):
    """Returns (a + b, mask): real where both terms are real."""
    return a + b, _intersect([valid_a, valid_b])


def cat_valid(tensors: Sequence[torch.Tensor], valids: Sequence[Optional[torch.Tensor]]):
    """Returns (channel concatenation, mask): real where every part is real."""
    return torch.cat(list(tensors), dim=1), _intersect(valids)


def _intersect(valids):
    """Returns the product of the masks that are not None (None when all are None)."""
    out = None
    for valid in valids:
        if valid is not None:
            out = valid if out is None else _intersect_two(out, valid)
    return out


def _intersect_two(a, b):
    """Returns a * b; when both are known rectangles (seg.layers remembers the masks its convs
    make), the product is their intersection: often one of them (a residual branch's mask
    contains the shortcut's), returned as is, without a multiply or a later mask read."""
    boxes_a, boxes_b = known_boxes(a), known_boxes(b)
    if boxes_a is None or boxes_b is None or a.shape != b.shape:
        return a * b
    boxes = []
    for (t1, b1, l1, r1), (t2, b2, l2, r2) in zip(boxes_a, boxes_b):
        box = (max(t1, t2), min(b1, b2), max(l1, l2), min(r1, r2))
        boxes.append(box if box[0] < box[1] and box[2] < box[3] else (0, 0, 0, 0))
    if boxes == boxes_b:
        return b
    if boxes == boxes_a:
        return a
    out = a * b
    remember_boxes(out, boxes)
    return out


def max_pool2d_valid(x: torch.Tensor, valid: Optional[torch.Tensor], kernel_size: int,
                     stride: int, padding: int):
    """Returns (max-pooled x, mask) where holes never win a max and the output is 0 outside the
    mask (the centre-tap region; eq. 3's for a geometry without a centre)."""
    if valid is None:
        return F.max_pool2d(x, kernel_size, stride, padding), None
    x = x.masked_fill(valid == 0, float("-inf"))
    out = F.max_pool2d(x, kernel_size, stride, padding)
    valid_out = centre_region(valid, kernel_size, stride, padding, 1)
    if valid_out is None:
        valid_out = F.max_pool2d(valid, kernel_size, stride, padding)
    return out.masked_fill(valid_out == 0, 0.0), valid_out


def interpolate_valid(x: torch.Tensor, valid: Optional[torch.Tensor], size,
                      target: Optional[torch.Tensor] = None):
    """Returns (bilinear resize of x to size, mask), interpolating from real pixels only.

    target: the real region at the output size (N, 1, *size); with it, each sample's real box
    is resized onto its target box and the mask is target.
    """
    if valid is None:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False), None
    if target is not None:
        out = resize_to_region(x, valid, target)
        if out is not None:
            return out, target
    # valid has the images' dtype; under autocast x may be half precision: keep x's dtype.
    out = F.interpolate(x * valid.to(x.dtype), size=size, mode="bilinear", align_corners=False)
    # The weights are computed in float32 so that a half-precision mask does not round them.
    weight = F.interpolate(valid.float(), size=size, mode="bilinear", align_corners=False)
    # One (N, 1, H, W) scale and one multiply: 1 / weight where holes take part, exactly 1
    # elsewhere (and where no real pixel contributes, where out is already 0).
    partial = (weight < 1.0 - _HOLE_WEIGHT_TOLERANCE) & (weight > 0)
    scale = torch.where(partial, 1.0 / weight.clamp(min=_HOLE_WEIGHT_TOLERANCE), 1.0)
    out = out * scale if out.dtype == scale.dtype else (out * scale).to(out.dtype)
    return out, (weight > 0).to(valid.dtype)


def average_pool_valid(x: torch.Tensor, valid: Optional[torch.Tensor], window=None):
    """Returns (mean of x over real pixels, mask): global (N, C, 1, 1) or per window (N, C, H, W).

    window=None pools the whole map; window=(kh, kw) in feature cells (odd, >= 1) averages the
    box of that size centred on each pixel, clipped to the map. Without valid every pixel is
    real; the same arithmetic runs with a mask of ones, so valid all ones is bit-identical.
    """
    ones = valid is None
    mask = torch.ones_like(x[:, :1]) if ones else valid
    # Sums in float32 (autocast off): a half-precision sum over a whole map can overflow.
    with torch.autocast(x.device.type, enabled=False):
        if window is None:
            # A matrix-vector product sums x * mask without materialising it (the ASPP input
            # is the largest map of the network).
            weights = mask.flatten(2).transpose(1, 2).float()  # (N, HW, 1)
            total = torch.bmm(x.flatten(2).float(), weights).unsqueeze(-1)  # (N, C, 1, 1)
            count = weights.sum(dim=1, keepdim=True).unsqueeze(-1)  # (N, 1, 1, 1)
        else:
            total, count = box_sum((x * mask).float(), window), box_sum(mask.float(), window)
        out = torch.where(count > 0, total / count.clamp(min=1e-12), total).to(x.dtype)
    return out, (None if ones else valid)


def box_sum(x: torch.Tensor, window) -> torch.Tensor:
    """Returns the sum of x over a (kh, kw) box centred on each pixel, zero outside the map.

    Summed-area table (two cumulative sums), so the cost does not grow with the window: a box
    the size of a training crop on a full-resolution feature map stays cheap.
    """
    h, w = x.shape[-2:]
    # A box wider than 2 * size + 1 covers the whole map from every pixel; clamp to that.
    kh, kw = min(window[0], 2 * h + 1), min(window[1], 2 * w + 1)
    ph, pw = kh // 2, kw // 2
    table = F.pad(x, (pw + 1, pw, ph + 1, ph)).cumsum(2).cumsum(3)
    return (table[..., kh:kh + h, kw:kw + w] - table[..., :h, kw:kw + w]
            - table[..., kh:kh + h, :w] + table[..., :h, :w])
