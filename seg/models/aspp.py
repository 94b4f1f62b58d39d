"""Atrous spatial pyramid pooling (DeepLabV3), with NVIDIA's branch order and masked pooling.

Branches, concatenated in this order: image pooling (1x1 conv, BN, ReLU on the pooled
features, broadcast back to the map), a 1x1 conv, and three 3x3 convs dilated 6/12/18 at
output stride 16 (12/24/36 at 8); each `channels` wide with BN-ReLU. The 1x1 projection of
the concatenation belongs to the DeepLabV3+ head (NVIDIA's `bot_aspp`, no BN).

Image pooling is the mean over the whole map, or with `pool_window` the mean over a fixed
box centred on each pixel: training crops and full-image inference then pool over the same
extent (the paper's regular-vs-tiled discussion). With a `valid` mask both means run over real
pixels only.
"""
import math
from typing import Callable, Optional, Sequence, Tuple

import torch.nn as nn

from seg.models.valid_ops import average_pool_valid, cat_valid, sequential_valid
from seg.models.valid_region import conv_valid


def aspp_rates(output_stride: int) -> Tuple[int, ...]:
    """Returns the three dilation rates: (6, 12, 18) at output stride 16, scaled by 16/stride."""
    return tuple(rate * 16 // output_stride for rate in (6, 12, 18))


def pool_window(aspp_pool_size, output_stride: int) -> Optional[Tuple[int, int]]:
    """Returns the image-pooling box in feature cells (odd sizes) for a size in input pixels.

    aspp_pool_size: None (global pooling), an int or an (height, width) pair in input pixels,
    e.g. the training crop size. Odd sizes keep the box centred on its pixel.
    """
    if aspp_pool_size is None:
        return None
    size = (aspp_pool_size, aspp_pool_size) if isinstance(aspp_pool_size, int) else aspp_pool_size
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"aspp_pool_size={aspp_pool_size!r}: give None, a positive int or an "
                         "(height, width) pair in input pixels, e.g. the training crop size")
    cells = [math.ceil(s / output_stride) for s in size]
    return tuple(c if c % 2 else c + 1 for c in cells)


def _conv_norm_relu(in_channels, out_channels, kernel, dilation, norm_layer):
    """Returns Sequential(conv without bias, norm, ReLU); 3x3 convs pad by their dilation."""
    padding = dilation if kernel == 3 else 0
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=padding, dilation=dilation,
                  bias=False),
        norm_layer(out_channels), nn.ReLU(inplace=True))


class ASPP(nn.Module):
    """forward(x, valid=None) -> (5 * channels features, mask)."""

    def __init__(self, in_channels: int, channels: int = 256, rates: Sequence[int] = (12, 24, 36),
                 pool_window: Optional[Tuple[int, int]] = None,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d):
        super().__init__()
        self.pool_window = pool_window
        self.pooling = _conv_norm_relu(in_channels, channels, 1, 1, norm_layer)
        self.branches = nn.ModuleList(
            [_conv_norm_relu(in_channels, channels, 1, 1, norm_layer)]
            + [_conv_norm_relu(in_channels, channels, 3, rate, norm_layer) for rate in rates])
        self.out_channels = channels * (len(rates) + 2)

    def forward(self, x, valid=None):
        """Returns (concatenated branch features, mask)."""
        outputs, valids = [self._image_pooling(x, valid)], [valid]
        for branch in self.branches:
            out, v = sequential_valid(branch, x, valid)
            outputs.append(out)
            valids.append(v)
        return cat_valid(outputs, valids)

    def _image_pooling(self, x, valid):
        """Returns the image-pooling branch at the map's size."""
        if self.pool_window is None:
            pooled, _ = average_pool_valid(x, valid)
            return self.pooling(pooled).expand(-1, -1, *x.shape[-2:])
        # The 1x1 conv commutes with the (linear) average, and running it first makes the box
        # filter work on `channels` instead of `in_channels` maps.
        out, v = conv_valid(self.pooling[0], x, valid)
        out, _ = average_pool_valid(out, v, self.pool_window)
        return self.pooling[2](self.pooling[1](out))
