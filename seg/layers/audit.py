"""Padding audit: layers that pad unevenly at an input size, and how far partial padding re-weights.

A stride-2 layer whose padded input length is not covered exactly by its windows never reads its
last padded rows/columns: it pads only the top/left in effect ("Mind the Pad", Alsallakh et al.,
ICLR 2021). That depends on the input size, so the audit traces shapes on the meta device (no
memory, no arithmetic) with forward hooks.
"""
import copy
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn.modules.utils import _pair

from seg.layers.partial_conv import resolve_padding
from seg.layers.ratio import axis_factors, output_length


@dataclass
class LayerPadding:
    name: str
    kind: str  # class name of the layer
    input_size: tuple  # (H, W) the layer sees
    kernel: tuple
    stride: tuple
    padding: tuple  # (top, left): what the layer asks for
    bottom_right: tuple  # (bottom, right) padding actually read; < padding means uneven
    max_ratio: float  # largest ||1|| / ||M|| partial padding applies (1.0: none); convs only

    @property
    def uneven(self) -> bool:
        return self.bottom_right != self.padding


def read_padding(length, kernel, stride, padding, dilation) -> int:
    """Returns how much of the trailing padding the last window reads (may be < 0: input cut)."""
    extent = dilation * (kernel - 1) + 1
    out_len = output_length(length, kernel, stride, padding, dilation)
    used = (out_len - 1) * stride + extent  # padded positions the windows cover
    return padding - (length + 2 * padding - used)


def max_ratio(size, kernel, stride, padding, dilation) -> float:
    """Returns the largest ratio of a whole-input partial padding at input size (H, W)."""
    largest = 1.0
    for axis in (0, 1):
        geometry = (kernel[axis], stride[axis], padding[axis], dilation[axis])
        out_len = output_length(size[axis], *geometry)
        factors = axis_factors(out_len, *geometry, 0, size[axis], "cpu", torch.float64)
        largest *= factors.max().item()
    return largest


def audit_padding(model: nn.Module, size) -> list:
    """Returns a LayerPadding for every padded conv and pooling layer of model at input size.

    The shapes are traced on the meta device; a model that is not there already is copied
    (build it under `with torch.device("meta"):` to skip the copy and the weight init).
    """
    if any(p.device.type != "meta" for p in model.parameters()):
        model = copy.deepcopy(model).to("meta")
    rows = []

    def record(name):
        def hook(module, inputs, output):
            kernel, stride = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
            dilation = _pair(getattr(module, "dilation", 1))
            padding = resolve_padding(module.padding, kernel, dilation)
            if padding == (0, 0):
                return
            in_size = tuple(inputs[0].shape[-2:])
            read = tuple(read_padding(in_size[a], kernel[a], stride[a], padding[a], dilation[a])
                         for a in (0, 1))
            ratio = (max_ratio(in_size, kernel, stride, padding, dilation)
                     if isinstance(module, nn.Conv2d) else float("nan"))
            rows.append(LayerPadding(name, type(module).__name__, in_size, kernel, stride,
                                     padding, read, ratio))
        return hook

    padded_types = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
    hooks = [module.register_forward_hook(record(name))
             for name, module in model.named_modules() if isinstance(module, padded_types)]
    training = model.training
    try:
        with torch.no_grad():  # eval: batch-norm on a batch of one image
            model.eval()(torch.empty(1, 3, *size, device="meta"))
    finally:
        model.train(training)
        for hook in hooks:
            hook.remove()
    return rows
