"""One convolution step of mask propagation: the conv's output and the updated valid mask."""
from typing import Optional

import torch
import torch.nn as nn

from seg.layers.partial_conv import PartialConv2d, partial_conv2d, resolve_padding


def valid_or_none(valid: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """Returns `valid`, or None when it has no hole (every pixel real).

    Eq. 1-3 with a mask of ones is eq. 4-5, so a mask without holes gives exactly the result of no
    mask; dropping it skips the cost of carrying it through every layer.
    """
    if valid is None or bool((valid != 0).all()):
        return None
    return valid


def conv2d_valid(conv: nn.Conv2d, x, valid=None):
    """Returns (conv(x), valid_out) with the valid mask (N, 1, H, W) carried through conv.

    * valid is None: (conv(x), None).
    * conv is a PartialConv2d: the partial convolution of eq. 1-3 with this mask.
    * conv has padding 0 (1x1 convs, projections): eq. 1-3 as well, so holes stay 0 and
      valid_out is the mask subsampled by the conv's geometry.
    * any other conv (zeros/reflect/replicate/circular padding): (conv(x), None), since those
      modes do not know about holes and the mask is dropped.
    """
    if valid is None:
        return conv(x), None
    padding = resolve_padding(conv.padding, conv.kernel_size, conv.dilation)
    if isinstance(conv, PartialConv2d) or padding == (0, 0):
        return partial_conv2d(x, conv.weight, conv.bias, conv.stride, padding, conv.dilation,
                              conv.groups, valid=valid)
    return conv(x), None
