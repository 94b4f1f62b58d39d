"""Baseline: partial padding the way NVIDIA's original code computes it, for the benchmark only.

Not the product (that is seg.layers). The paper's formula, eq. 4-5, implemented by convolving a
mask of ones: each module keeps the ratio map of the last input shape it saw, the *whole*
shape, batch size included, and recomputes it (one convolution of a (1, 1, H, W) mask of ones
with a kernel of ones) whenever that shape changes. Every forward then multiplies the full
output by the full ratio map, and adds the bias on the full map. Timing it next to
seg.layers in the same run shows what the border-strip ratio and its shared cache save.

`use_padding(model, "maskconv")` swaps it in by the same in-place module walk as
seg.layers.set_padding; `use_padding(model, "zeros" / "partial" / ...)` swaps back.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from seg.layers import set_padding
from seg.layers.partial_conv import resolve_padding

BENCHMARK_MODES = ("zeros", "partial", "maskconv")


class MaskConvPartialConv2d(nn.Conv2d):
    """nn.Conv2d with partial padding from a convolved mask of ones, cached per module and
    per whole input shape (NVIDIA's approach). Same parameters as nn.Conv2d."""

    def forward(self, input):
        shape = tuple(input.shape)
        if getattr(self, "_ratio_shape", None) != shape:
            self._ratio, self._seen = self._ratio_map(input)
            self._ratio_shape = shape
        output = F.conv2d(input, self.weight, None, self.stride, self.padding, self.dilation,
                          self.groups) * self._ratio
        if self.bias is not None:
            output = output + self.bias.view(-1, 1, 1) * self._seen
        return output

    def _ratio_map(self, input):
        """Returns (ratio, seen), (1, 1, H_out, W_out): ||1|| / ||M|| (0 where ||M|| = 0)."""
        kernel = self.weight.shape[-2:]
        padding = resolve_padding(self.padding, self.kernel_size, self.dilation)
        with torch.no_grad():
            ones = input.new_ones(1, 1, *input.shape[-2:])
            count = F.conv2d(ones, input.new_ones(1, 1, *kernel), None, self.stride, padding,
                             self.dilation).round()
            seen = (count > 0).to(input.dtype)
            ratio = kernel[0] * kernel[1] / count.clamp(min=1) * seen
        return ratio, seen


def clear_mask_conv_cache(model: nn.Module) -> None:
    """Forgets every MaskConvPartialConv2d's ratio map (the next forward is a first iteration)."""
    for module in model.modules():
        if isinstance(module, MaskConvPartialConv2d):
            module._ratio_shape = None


def _padded_convs(model: nn.Module):
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and resolve_padding(
                module.padding, module.kernel_size, module.dilation) != (0, 0):
            yield module


def use_padding(model: nn.Module, mode: str) -> nn.Module:
    """Returns model with its padded convs switched in place to `mode`: any seg.layers padding
    mode, or "maskconv" (the baseline above). Parameters are shared, nothing is copied."""
    for conv in _padded_convs(model):
        if type(conv) is MaskConvPartialConv2d:
            conv.__class__ = nn.Conv2d  # back to a class seg.layers.set_padding knows
            for name in ("_ratio", "_seen", "_ratio_shape"):
                conv.__dict__.pop(name, None)
    if mode != "maskconv":
        return set_padding(model, mode)
    set_padding(model, "zeros")  # plain nn.Conv2d with zero padding_mode, then the swap
    for conv in _padded_convs(model):
        conv.__class__ = MaskConvPartialConv2d
    return model
