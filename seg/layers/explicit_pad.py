"""Padding by an explicit pad before a padding-0 conv: symmetric and asymmetric ('same') padding.

`symmetric` mirrors the edge pixel too (numpy's 'symmetric'; PyTorch's `reflect` leaves it out),
the mode "Mind the Pad" (Alsallakh et al., ICLR 2021) recommends. Asymmetric padding is what
TensorFlow's 'same' does for even kernels and for strided layers (timm's Conv2dSame): the odd
extra row or column goes to the bottom or right. Partial padding of such a layer is eq. 4-5 with
uneven sides: each window is re-weighted by ||1|| / ||M||, M its real (non-padding) taps.

Pads are in F.pad order: (left, right, top, bottom).
"""
import functools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _pair

EXPLICIT_MODES = ("zeros", "reflect", "replicate", "circular", "symmetric", "partial")


def same_pads(size, kernel, stride, dilation) -> tuple:
    """Returns the TensorFlow 'same' pads of an input of size (H, W): the output is ceil(n / s)."""
    pads = []
    for n, k, s, d in zip(size, kernel, stride, dilation):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)


def static_pads(padding, kernel, dilation) -> tuple:
    """Returns the pads of a conv's padding attribute (int, pair, 'valid', or 'same', which
    puts the odd extra on the bottom/right as nn.Conv2d does)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        (top, bottom), (left, right) = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                                        for k, d in zip(kernel, dilation)]
        return (left, right, top, bottom)
    pad_h, pad_w = _pair(padding)
    return (pad_w, pad_w, pad_h, pad_h)


def _mirror(x, before, after, dim):
    # Symmetric padding repeats the input and its mirror image with period 2n, so a pad wider
    # than the input keeps mirroring (numpy's np.pad does the same).
    length = x.shape[dim]
    index = torch.arange(-before, length + after, device=x.device) % (2 * length)
    index = torch.where(index < length, index, 2 * length - 1 - index)
    return x.index_select(dim, index)


def pad_symmetric(x, pads):
    """Returns x padded by mirroring including the edge pixel: c b a | a b c | c b a."""
    left, right, top, bottom = pads
    return _mirror(_mirror(x, top, bottom, x.dim() - 2), left, right, x.dim() - 1)


def pad_input(x, pads, mode):
    """Returns x padded by pads in mode (zeros, reflect, replicate, circular or symmetric)."""
    if mode == "symmetric":
        return pad_symmetric(x, pads)
    if mode == "zeros":
        return F.pad(x, pads)
    return F.pad(x, pads, mode=mode)


@functools.lru_cache(maxsize=64)
def padding_ratio(size, kernel, stride, pads, dilation, device, dtype):
    """Returns (ratio, keep), maps (1, 1, H', W'): ||1|| / ||M|| of each window of an input of
    size (H, W) padded by pads, and 1 where the window has a real tap (0 where it has none)."""
    with torch.inference_mode(False), torch.no_grad():  # cached: never an inference tensor
        real = F.pad(torch.ones(1, 1, *size, device=device, dtype=dtype), pads)
        taps = F.conv2d(real, torch.ones(1, 1, *kernel, device=device, dtype=dtype), None,
                        stride, 0, dilation)
        keep = (taps > 0).to(dtype)
        return kernel[0] * kernel[1] / taps.clamp(min=1) * keep, keep


def padded_conv2d(x, weight, bias, stride, pads, dilation, groups, mode):
    """Returns the conv of x padded by pads in mode; `partial` re-weights by the ratio instead."""
    if mode != "partial":
        return F.conv2d(pad_input(x, pads, mode), weight, bias, stride, 0, dilation, groups)
    output = F.conv2d(F.pad(x, pads), weight, None, stride, 0, dilation, groups)
    ratio, keep = padding_ratio(tuple(x.shape[-2:]), tuple(weight.shape[-2:]), stride, pads,
                                dilation, x.device, output.dtype)
    output = output * ratio
    if bias is not None:
        output = output + bias.to(output.dtype).view(-1, 1, 1) * keep
    return output


def _check_mode(mode):
    if mode not in EXPLICIT_MODES:
        raise ValueError(f"padding_mode {mode!r}: use one of {', '.join(EXPLICIT_MODES)}")


class ExplicitPadConv2d(nn.Conv2d):
    """nn.Conv2d padded by its padding attribute in self.padding_mode, which may also be
    `symmetric` or `partial` (with uneven 'same' padding too). Same parameters and state_dict as
    nn.Conv2d; seg.layers.set_padding swaps convs to and from this class in place."""

    def forward(self, input):
        _check_mode(self.padding_mode)
        pads = static_pads(self.padding, self.kernel_size, self.dilation)
        return padded_conv2d(input, self.weight, self.bias, self.stride, pads, self.dilation,
                             self.groups, self.padding_mode)


class SamePadConv2d(nn.Conv2d):
    """TensorFlow 'same' conv (pads chosen per input size, as timm's Conv2dSame) in
    self.padding_mode; in `zeros` mode it computes exactly what Conv2dSame computes."""

    def forward(self, input):
        _check_mode(self.padding_mode)
        pads = same_pads(input.shape[-2:], self.kernel_size, self.stride, self.dilation)
        return padded_conv2d(input, self.weight, self.bias, self.stride, pads, self.dilation,
                             self.groups, self.padding_mode)
