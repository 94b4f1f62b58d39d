"""DeepLabV3+ (Chen et al. 2018) with NVIDIA's head layout, carrying a `valid` mask end to end.

trunk -> high-level features -> ASPP (5 x 256) -> 1x1 to 256 (`aspp_project`, no BN)
trunk -> low-level features -> 1x1 to 48 (`low_level_project`, no BN)
upsample the ASPP features to the low-level size, concatenate (304) -> two 3x3 convs 256 with
BN-ReLU (`decoder`) -> 1x1 classifier without bias -> bilinear upsampling to the input size.

Which convs carry BN and bias is fixed by the parameter counts of NVIDIA's DeepR50V3PlusD_m1
(40,351,040 for 19 classes) and DeepWV3Plus (137,103,936): no conv has a bias, the two 1x1
reductions have no BN.

`model(images, valid=None)`: with valid (N, 1, H, W), 1 on the real pixels of each image of a
padded batch, every conv of trunk, ASPP and decoder treats the rest as holes (eq. 1-3) and the
ops in between carry the mask by the rules of seg.models.valid_ops, which keep each image's
own region at every resolution: an image in the top-left corner of a padded batch gets the
logits it gets alone (seg.models.valid_region). A batch without holes
takes the plain path (valid=None). That happens in partial-padding mode; in
zeros/reflect/replicate/circular mode the first conv drops the mask (seg.layers.conv2d_valid),
so valid is accepted and ignored.
"""
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from seg.layers import valid_or_none
from seg.models.aspp import ASPP
from seg.models.valid_ops import cat_valid, check_valid, interpolate_valid, sequential_valid
from seg.models.valid_region import conv_valid


class DeepLabV3Plus(nn.Module):
    """Returns logits (N, num_classes, H, W) at the input size from forward(images, valid)."""

    def __init__(self, backbone: nn.Module, num_classes: int, *, aspp_channels: int = 256,
                 aspp_rates: Sequence[int] = (12, 24, 36), low_level_channels: int = 48,
                 decoder_channels: int = 256, pool_window: Optional[Tuple[int, int]] = None,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d):
        super().__init__()
        # backbone.forward(x, valid) -> (low, low_valid, high, high_valid)
        self.backbone = backbone
        self.aspp = ASPP(backbone.out_channels, aspp_channels, aspp_rates, pool_window,
                         norm_layer)
        self.aspp_project = nn.Conv2d(self.aspp.out_channels, aspp_channels, 1, bias=False)
        self.low_level_project = nn.Conv2d(backbone.low_channels, low_level_channels, 1,
                                           bias=False)
        self.decoder = nn.Sequential(
            nn.Conv2d(aspp_channels + low_level_channels, decoder_channels, 3, padding=1,
                      bias=False),
            norm_layer(decoder_channels), nn.ReLU(inplace=True),
            nn.Conv2d(decoder_channels, decoder_channels, 3, padding=1, bias=False),
            norm_layer(decoder_channels), nn.ReLU(inplace=True))
        self.classifier = nn.Conv2d(decoder_channels, num_classes, 1, bias=False)

    def forward(self, images: torch.Tensor, valid: Optional[torch.Tensor] = None):
        """Returns the logits (N, num_classes, H, W), upsampled to the input size."""
        # No hole anywhere: run the padding path, which gives exactly the logits of model(images).
        valid = valid_or_none(check_valid(images, valid))
        low, low_valid, high, high_valid = self.backbone(images, valid)
        x, v = self.aspp(high, high_valid)
        x, v = conv_valid(self.aspp_project, x, v)
        fine, fine_valid = conv_valid(self.low_level_project, low, low_valid)
        x, v = interpolate_valid(x, v, fine.shape[-2:], fine_valid)
        x, v = cat_valid([fine, x], [fine_valid, v])
        x, v = sequential_valid(self.decoder, x, v)
        x, v = conv_valid(self.classifier, x, v)
        return interpolate_valid(x, v, images.shape[-2:], valid)[0]
