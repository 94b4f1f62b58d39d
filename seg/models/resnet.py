"""Dilated ResNet trunks: ResNet50 (torchvision parameter names) and the narrow CPU trunk.

The parameter names are torchvision's (`conv1`, `bn1`, `layer1.0.downsample.0`, ...), so a
torchvision ImageNet resnet50 state_dict loads without renaming (its `fc.*` keys are dropped).
Output stride 8 follows NVIDIA's DeepR50V3PlusD ("variant D"): layer3 and layer4 keep stride 1,
with dilation 2 in every block of layer3 and 4 in every block of layer4; output stride 16
dilates layer4 only (2); 32 is the plain ImageNet network.
"""
from typing import Callable, Sequence, Type

import torch.nn as nn

from seg.models.valid_ops import add_valid, max_pool2d_valid
from seg.models.valid_region import conv_valid

# Dilation of (layer3, layer4) per output stride; the layers keep stride 1 where dilated.
_DILATIONS = {8: (2, 4), 16: (1, 2), 32: (1, 1)}


class BasicBlock(nn.Module):
    """Two 3x3 convs with an identity (or 1x1 projection) shortcut, torchvision's names."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, dilation=1, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn1 = norm_layer(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn2 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(inplanes, planes, stride, norm_layer)

    def forward(self, x, valid=None):
        """Returns (block output, its mask)."""
        out, v = conv_valid(self.conv1, x, valid)
        out = self.relu(self.bn1(out))
        out, v = conv_valid(self.conv2, out, v)
        out = self.bn2(out)
        shortcut, shortcut_valid = _shortcut(self.downsample, x, valid)
        out, v = add_valid(out, v, shortcut, shortcut_valid)
        return self.relu(out), v


class Bottleneck(nn.Module):
    """1x1 - 3x3 (stride, dilation) - 1x1 bottleneck, torchvision's ResNet v1.5 names."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = norm_layer(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn2 = norm_layer(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = norm_layer(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(inplanes, planes * 4, stride, norm_layer)

    def forward(self, x, valid=None):
        """Returns (block output, its mask)."""
        out, v = conv_valid(self.conv1, x, valid)
        out = self.relu(self.bn1(out))
        out, v = conv_valid(self.conv2, out, v)
        out = self.relu(self.bn2(out))
        out, v = conv_valid(self.conv3, out, v)
        out = self.bn3(out)
        shortcut, shortcut_valid = _shortcut(self.downsample, x, valid)
        out, v = add_valid(out, v, shortcut, shortcut_valid)
        return self.relu(out), v


def _projection(inplanes, outplanes, stride, norm_layer):
    """Returns the 1x1 projection shortcut when shape changes, else None (identity)."""
    if stride == 1 and inplanes == outplanes:
        return None
    return nn.Sequential(nn.Conv2d(inplanes, outplanes, 1, stride, bias=False),
                         norm_layer(outplanes))


def _shortcut(downsample, x, valid):
    """Returns (shortcut features, mask): identity or the projection."""
    if downsample is None:
        return x, valid
    out, valid = conv_valid(downsample[0], x, valid)
    return downsample[1](out), valid


class ResNetTrunk(nn.Module):
    """ResNet without avgpool/fc; forward returns low-level (layer1) and high-level features.

    forward(x, valid=None) -> (low, low_valid, high, high_valid). `low_channels` and
    `out_channels` give the channel counts the DeepLabV3+ head needs.
    """

    imagenet_only = ("fc.",)  # checkpoint keys of the classifier, dropped when loading

    def __init__(self, block: Type[nn.Module], layers: Sequence[int], widths: Sequence[int],
                 stem_channels: int, output_stride: int = 8,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d):
        super().__init__()
        if output_stride not in _DILATIONS:
            raise ValueError(f"ResNet trunk: output_stride={output_stride} is not supported; "
                             f"use one of {sorted(_DILATIONS)}")
        self.conv1 = nn.Conv2d(3, stem_channels, 7, 2, padding=3, bias=False)
        self.bn1 = norm_layer(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        dilation3, dilation4 = _DILATIONS[output_stride]
        strides = (1, 2, 1 if dilation3 > 1 else 2, 1 if dilation4 > 1 else 2)
        dilations = (1, 1, dilation3, dilation4)
        inplanes = stem_channels
        for index, (count, width, stride, dilation) in enumerate(
                zip(layers, widths, strides, dilations)):
            blocks = []
            for block_index in range(count):
                blocks.append(block(inplanes, width, stride if block_index == 0 else 1,
                                    dilation, norm_layer))
                inplanes = width * block.expansion
            self.add_module(f"layer{index + 1}", nn.Sequential(*blocks))
        self.low_channels = widths[0] * block.expansion
        self.out_channels = inplanes

    def forward(self, x, valid=None):
        """Returns (layer1 features, mask, layer4 features, mask)."""
        x, valid = conv_valid(self.conv1, x, valid)
        x = self.relu(self.bn1(x))
        pool = self.maxpool
        x, valid = max_pool2d_valid(x, valid, pool.kernel_size, pool.stride, pool.padding)
        outputs = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in layer:
                x, valid = block(x, valid)
            outputs.append((x, valid))
        (low, low_valid), (high, high_valid) = outputs[0], outputs[-1]
        return low, low_valid, high, high_valid


def resnet50_trunk(*, output_stride=8, norm_layer=nn.BatchNorm2d) -> ResNetTrunk:
    """Returns the ResNet50 trunk (23,508,032 parameters; layer1 256 ch, layer4 2048 ch)."""
    return ResNetTrunk(Bottleneck, (3, 4, 6, 3), (64, 128, 256, 512), 64, output_stride,
                       norm_layer)


def small_trunk(*, output_stride=8, norm_layer=nn.BatchNorm2d) -> ResNetTrunk:
    """Returns the narrow BasicBlock trunk of the CPU recipe (not a paper model)."""
    return ResNetTrunk(BasicBlock, (1, 1, 2, 1), (16, 32, 48, 64), 16, output_stride,
                       norm_layer)
