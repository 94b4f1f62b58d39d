"""WideResNet38-A2 trunk (Wu et al. 2016) as used by Mapillary and NVIDIA, dilated to stride 8.

Parameter names follow the public ImageNet checkpoint `wider_resnet38.pth.tar` (after
stripping `module.`): `mod1.conv1.weight`, `mod2.block1.bn1.0.weight`,
`mod2.block1.convs.conv1.weight`, `mod2.block1.convs.bn2.0.running_mean`,
`mod4.block1.proj_conv.weight`, `mod6.block1.convs.bn3.0.weight`, ... A "bn" is
Sequential(norm, ReLU), hence the `.0.`. The checkpoint's `bn_out.*` and `classifier.*` are
ImageNet-only and not part of the trunk.

Layout: mod1 3x3 conv 3->64 (stride 1); max-pool /2; mod2 3 blocks (128, 128) -> low-level
features (128 ch, stride 2); max-pool /2; mod3 3 blocks (256, 256); mod4 6 blocks (512, 512),
stride 2 in the first; mod5 3 blocks (512, 1024), dilation 2; mod6 one bottleneck
(512, 1024, 2048), dilation 4, Dropout2d 0.3; mod7 one bottleneck (1024, 2048, 4096),
dilation 4, Dropout2d 0.5 -> 4096 ch at stride 8. Output stride 16 gives mod5's first block
stride 2 and halves the dilations (mod5 1, mod6 and mod7 2).
"""
from collections import OrderedDict
from typing import Callable

import torch.nn as nn

from seg.models.valid_ops import add_valid, max_pool2d_valid, sequential_valid
from seg.models.valid_region import conv_valid

_CHANNELS = ((128, 128), (256, 256), (512, 512), (512, 1024), (512, 1024, 2048),
             (1024, 2048, 4096))
_BLOCKS = (3, 3, 6, 3, 1, 1)  # WideResNet38
_DROPOUT = (None, None, None, None, 0.3, 0.5)
# (stride of the first block, dilation) of mod2..mod7 per output stride.
_GEOMETRY = {
    8: ((1, 1), (1, 1), (2, 1), (1, 2), (1, 4), (1, 4)),
    16: ((1, 1), (1, 1), (2, 1), (2, 1), (1, 2), (1, 2)),
}


def norm_relu(channels: int, norm_layer) -> nn.Sequential:
    """Returns Sequential(norm, ReLU): the checkpoint's `bnX.0.*` keys."""
    return nn.Sequential(norm_layer(channels), nn.ReLU(inplace=True))


class IdentityResidualBlock(nn.Module):
    """Pre-activation residual block: BN-ReLU on the input, convs, identity or 1x1 projection.

    The projection (when stride or width changes) reads the pre-activated input, the identity
    shortcut the raw input. Two channel values give two 3x3 convs, three a 1x1-3x3-1x1
    bottleneck; 3x3 convs use padding = dilation.
    """

    def __init__(self, in_channels, channels, stride=1, dilation=1, dropout=None,
                 norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.bn1 = norm_relu(in_channels, norm_layer)
        if len(channels) == 2:
            layers = [
                ("conv1", nn.Conv2d(in_channels, channels[0], 3, stride, padding=dilation,
                                    dilation=dilation, bias=False)),
                ("bn2", norm_relu(channels[0], norm_layer)),
                ("conv2", nn.Conv2d(channels[0], channels[1], 3, 1, padding=dilation,
                                    dilation=dilation, bias=False)),
            ]
        else:
            layers = [
                ("conv1", nn.Conv2d(in_channels, channels[0], 1, stride, bias=False)),
                ("bn2", norm_relu(channels[0], norm_layer)),
                ("conv2", nn.Conv2d(channels[0], channels[1], 3, 1, padding=dilation,
                                    dilation=dilation, bias=False)),
                ("bn3", norm_relu(channels[1], norm_layer)),
                ("conv3", nn.Conv2d(channels[1], channels[2], 1, bias=False)),
            ]
        if dropout is not None:  # before the last conv, as in the reference implementation
            layers.insert(len(layers) - 1, ("dropout", nn.Dropout2d(dropout)))
        self.convs = nn.Sequential(OrderedDict(layers))
        if stride != 1 or in_channels != channels[-1]:
            self.proj_conv = nn.Conv2d(in_channels, channels[-1], 1, stride, bias=False)
        else:
            self.proj_conv = None

    def forward(self, x, valid=None):
        """Returns (block output, its mask)."""
        pre = self.bn1(x)
        if self.proj_conv is None:
            shortcut, shortcut_valid = x, valid
        else:
            shortcut, shortcut_valid = conv_valid(self.proj_conv, pre, valid)
        out, v = sequential_valid(self.convs, pre, valid)
        return add_valid(out, v, shortcut, shortcut_valid)


class WiderResNet38Trunk(nn.Module):
    """WideResNet38-A2 without bn_out/classifier.

    forward(x, valid=None) -> (mod2 features, mask, mod7 features, mask).
    """

    imagenet_only = ("bn_out.", "classifier.")  # checkpoint keys dropped when loading

    def __init__(self, output_stride: int = 8,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d):
        super().__init__()
        if output_stride not in _GEOMETRY:
            raise ValueError(f"WideResNet38 trunk: output_stride={output_stride} is not "
                             f"supported; use one of {sorted(_GEOMETRY)}")
        self.mod1 = nn.Sequential(OrderedDict(
            [("conv1", nn.Conv2d(3, 64, 3, 1, padding=1, bias=False))]))
        in_channels = 64
        for index, (count, channels, dropout, (stride, dilation)) in enumerate(
                zip(_BLOCKS, _CHANNELS, _DROPOUT, _GEOMETRY[output_stride])):
            if index < 2:
                self.add_module(f"pool{index + 2}", nn.MaxPool2d(3, 2, 1))
            blocks = []
            for block_index in range(count):
                blocks.append((f"block{block_index + 1}", IdentityResidualBlock(
                    in_channels, channels, stride if block_index == 0 else 1, dilation,
                    dropout, norm_layer)))
                in_channels = channels[-1]
            self.add_module(f"mod{index + 2}", nn.Sequential(OrderedDict(blocks)))
        self.low_channels = _CHANNELS[0][-1]
        self.out_channels = in_channels

    def forward(self, x, valid=None):
        """Returns (mod2 features, mask, mod7 features, mask)."""
        x, valid = conv_valid(self.mod1.conv1, x, valid)
        x, valid = _pool(self.pool2, x, valid)
        x, valid = _blocks(self.mod2, x, valid)
        low, low_valid = x, valid
        x, valid = _pool(self.pool3, x, valid)
        for mod in (self.mod3, self.mod4, self.mod5, self.mod6, self.mod7):
            x, valid = _blocks(mod, x, valid)
        return low, low_valid, x, valid


def _pool(pool: nn.MaxPool2d, x, valid):
    """Returns the masked max-pool of x with the module's geometry."""
    return max_pool2d_valid(x, valid, pool.kernel_size, pool.stride, pool.padding)


def _blocks(mod: nn.Sequential, x, valid):
    """Returns (x, valid) after the residual blocks of one module."""
    for block in mod:
        x, valid = block(x, valid)
    return x, valid


def wider_resnet38_trunk(*, output_stride=8, norm_layer=nn.BatchNorm2d) -> WiderResNet38Trunk:
    """Returns the WideResNet38-A2 trunk (mod2 128 ch at stride 2, mod7 4096 ch)."""
    return WiderResNet38Trunk(output_stride, norm_layer)
