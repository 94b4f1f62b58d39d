"""Partial-convolution-based padding: the layer, the ratio and the padding switch; a BatchNorm
whose train-mode statistics leave out the holes."""
from seg.layers.explicit_pad import ExplicitPadConv2d, SamePadConv2d, pad_symmetric
from seg.layers.masked_batchnorm import (
    MaskedBatchNorm2d,
    convert_masked_batchnorm,
    count_masked_batchnorm,
    real_pixels,
)
from seg.layers.partial_conv import PartialConv2d, partial_conv2d
from seg.layers.ratio import clear_ratio_cache, ratio_cache_info, set_ratio_cache_size
from seg.layers.ratio_path import partial_path
from seg.layers.switch import PADDING_MODES, get_padding_mode, padding_mode, set_padding
from seg.layers.valid import conv2d_valid, valid_or_none

__all__ = [
    "PADDING_MODES",
    "ExplicitPadConv2d",
    "MaskedBatchNorm2d",
    "PartialConv2d",
    "SamePadConv2d",
    "clear_ratio_cache",
    "conv2d_valid",
    "convert_masked_batchnorm",
    "count_masked_batchnorm",
    "get_padding_mode",
    "padding_mode",
    "pad_symmetric",
    "partial_conv2d",
    "partial_path",
    "real_pixels",
    "ratio_cache_info",
    "set_padding",
    "set_ratio_cache_size",
    "valid_or_none",
]
