"""Partial-convolution-based padding: the layer, the ratio and the padding switch."""
from seg.layers.partial_conv import PartialConv2d, partial_conv2d
from seg.layers.ratio import clear_ratio_cache
from seg.layers.switch import PADDING_MODES, get_padding_mode, padding_mode, set_padding
from seg.layers.valid import conv2d_valid, valid_or_none

__all__ = [
    "PADDING_MODES",
    "PartialConv2d",
    "clear_ratio_cache",
    "conv2d_valid",
    "get_padding_mode",
    "padding_mode",
    "partial_conv2d",
    "set_padding",
    "valid_or_none",
]
