"""build_model: the paper's two DeepLabV3+ networks and the small CPU-recipe network by name."""
from typing import Callable, Optional

import torch.nn as nn

from seg.layers import set_padding
from seg.models.aspp import aspp_rates, pool_window
from seg.models.deeplabv3plus import DeepLabV3Plus
from seg.models.pretrained import load_backbone
from seg.models.resnet import resnet50_trunk, small_trunk
from seg.models.wider_resnet import wider_resnet38_trunk
from seg.utils.errors import BadValueError


def deeplabv3plus_resnet50(*, num_classes, output_stride, norm_layer, window):
    """Returns DeepLabV3+ on ResNet50 (paper model; 40,351,040 parameters for 19 classes)."""
    trunk = resnet50_trunk(output_stride=output_stride, norm_layer=norm_layer)
    return DeepLabV3Plus(trunk, num_classes, aspp_rates=aspp_rates(output_stride),
                         pool_window=window, norm_layer=norm_layer)


def deeplabv3plus_wrn38(*, num_classes, output_stride, norm_layer, window):
    """Returns DeepLabV3+ on WideResNet38-A2 (paper model; 137,103,936 parameters, 19 classes)."""
    trunk = wider_resnet38_trunk(output_stride=output_stride, norm_layer=norm_layer)
    return DeepLabV3Plus(trunk, num_classes, aspp_rates=aspp_rates(output_stride),
                         pool_window=window, norm_layer=norm_layer)


def deeplabv3plus_small(*, num_classes, output_stride, norm_layer, window):
    """Returns the narrow DeepLabV3+ of the CPU recipes (not a paper model).

    Same structure as the paper models (dilated trunk, ASPP with image pooling and the paper's
    rates, decoder with a low-level skip at stride 4) on a BasicBlock trunk of width 16-64 with
    a 48-wide ASPP and decoder: about 0.3M parameters, so a few hundred iterations at 256x512
    crops take minutes on two CPU cores.
    """
    trunk = small_trunk(output_stride=output_stride, norm_layer=norm_layer)
    return DeepLabV3Plus(trunk, num_classes, aspp_channels=48, aspp_rates=aspp_rates(output_stride),
                         low_level_channels=16, decoder_channels=48, pool_window=window,
                         norm_layer=norm_layer)


BUILDERS = {
    "deeplabv3plus_resnet50": deeplabv3plus_resnet50,
    "deeplabv3plus_wrn38": deeplabv3plus_wrn38,
    "deeplabv3plus_small": deeplabv3plus_small,
}
MODEL_NAMES = tuple(BUILDERS)


def build_model(name: str, *, num_classes: int = 19, padding: str = "partial",
                output_stride: int = 8, norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
                pretrained_backbone: Optional[str] = None, aspp_pool_size=None) -> nn.Module:
    """Returns the model `name` with every padded conv in padding mode `padding`.

    padding: one of seg.layers.PADDING_MODES. pretrained_backbone: path of a local ImageNet
    checkpoint for the trunk (torchvision resnet50 state_dict, wider_resnet38.pth.tar).
    aspp_pool_size: None for global image pooling, or a box size in input pixels (int or
    (h, w)), e.g. the training crop, for the fixed-window pooling.
    """
    if name not in BUILDERS:
        raise BadValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    model = BUILDERS[name](num_classes=num_classes, output_stride=output_stride,
                           norm_layer=norm_layer, window=pool_window(aspp_pool_size, output_stride))
    if pretrained_backbone is not None:
        load_backbone(model.backbone, pretrained_backbone)
    return set_padding(model, padding)
