"""The real region of each image of a padded batch: the feature map that image would have alone.

Eq. 3 marks an output real when its window sees one real pixel, so at the far edge of every
image the real region grows by the kernel's reach; the next layer then reads values where the
image run alone has zero padding, and an image's logits depend on the batch it runs in. The
models keep, instead, at every resolution the region an image alone would have: an output is
real when the centre tap of its window is. For a "same" geometry (2 * padding = dilation *
(kernel - 1): every padded conv and max-pool of the three models) that is the mask subsampled
by the stride, and an image of h rows in the top-left corner of the batch keeps
ceil(h / stride) = output_length(h) rows, the size of its own feature map. Inside that region
each conv reads exactly what it reads alone: the real pixels, the eq. 4-5 ratio of the real
rectangle, zeros beyond it (seg.layers holes). Bilinear resizing maps each image's region onto
its region at the target resolution, as the alone run resizes its whole map.

Exactness needs the strided convs to sample each image at the positions the alone run does:
images sit in the top-left corner of the batch (seg.inference.pad_batch does that). Outputs
outside the region may hold values computed from real pixels; no op reads them (every op
reads through the mask).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _pair

from seg.layers import conv2d_valid
from seg.layers.boxes import known_boxes, rectangle_boxes, remember_boxes
from seg.layers.partial_conv import resolve_padding


def centre_region(valid: torch.Tensor, kernel, stride, padding, dilation) -> Optional[torch.Tensor]:
    """Returns the mask of the windows whose centre tap is real, or None for a geometry whose
    windows have no centre on the output grid (padding other than dilation * (kernel - 1) / 2)."""
    kernel, stride, dilation = _pair(kernel), _pair(stride), _pair(dilation)
    padding = resolve_padding(padding, kernel, dilation)
    if any(d * (k - 1) != 2 * p for k, d, p in zip(kernel, dilation, padding)):
        return None
    if stride == (1, 1):
        return valid  # the same tensor: its remembered boxes stay known to the next conv
    region = valid[:, :, ::stride[0], ::stride[1]].contiguous()
    boxes = known_boxes(valid)
    if boxes is not None:
        # Rows t..b-1 keep the outputs o with t <= o * s < b: ceil(t / s) .. ceil(b / s) - 1.
        remember_boxes(region, [(-(-t // stride[0]), -(-b // stride[0]),
                                 -(-left // stride[1]), -(-right // stride[1]))
                                for t, b, left, right in boxes])
    return region


def conv_valid(conv: nn.Conv2d, x: torch.Tensor, valid: Optional[torch.Tensor]):
    """Returns (conv(x), mask): eq. 1-3 for the values, the centre-tap region for the mask.

    Where the mask is dropped (padding modes that do not know holes) or the geometry has no
    centre, the mask is seg.layers.conv2d_valid's.
    """
    out, valid_out = conv2d_valid(conv, x, valid)
    if valid_out is None:
        return out, None
    region = centre_region(valid, conv.kernel_size, conv.stride, conv.padding, conv.dilation)
    return out, (valid_out if region is None else region)


def resize_to_region(x: torch.Tensor, valid: torch.Tensor,
                     target: torch.Tensor) -> Optional[torch.Tensor]:
    """Returns x bilinearly resized so that each sample's real box of valid fills its real box
    of target (zeros elsewhere), or None unless both masks are one rectangle per sample.

    This is the alone run's F.interpolate of the whole map, applied to each image's region.
    """
    if torch.compiler.is_compiling():  # reading boxes is a host sync; traced graphs normalise
        return None
    sources, targets = rectangle_boxes(valid), rectangle_boxes(target)
    if sources is None or targets is None:
        return None
    out = x.new_zeros(*x.shape[:2], *target.shape[-2:])
    start = 0
    while start < len(sources):  # samples with the same pair of boxes share one call
        stop = start + 1
        while stop < len(sources) and (sources[stop], targets[stop]) == (sources[start],
                                                                         targets[start]):
            stop += 1
        (top, bottom, left, right), (t, b, l_, r) = sources[start], targets[start]
        if bottom > top and right > left and b > t and r > l_:
            out[start:stop, :, t:b, l_:r] = F.interpolate(
                x[start:stop, :, top:bottom, left:right], size=(b - t, r - l_), mode="bilinear",
                align_corners=False)
        start = stop
    return out
