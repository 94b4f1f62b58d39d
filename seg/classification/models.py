"""Classification models built by name (torchvision's, and WideResNet38-A2), in one padding mode.

The paper (section 4.1) takes the official PyTorch model definitions and only swaps the padding:
`build_classifier("vgg16_bn", padding="partial")` is torchvision's vgg16_bn with each padded
nn.Conv2d switched by seg.layers.set_padding, so the parameters and state_dict keys are
torchvision's and any padding mode loads any checkpoint (the cross testing of table 4).
"""
from __future__ import annotations

import difflib
from collections import OrderedDict

import torch
import torchvision
from torch import nn

from seg.layers import PADDING_MODES, set_padding
from seg.models.wider_resnet import WiderResNet38Trunk, norm_relu
from seg.utils.errors import BadValueError

# The paper's networks (table 2); any other torchvision classification name works too.
PAPER_MODELS = ("vgg16_bn", "vgg19_bn", "resnet50", "resnet101", "resnet152")


class WiderResNet38A2(WiderResNet38Trunk):
    """WideResNet38-A2 ImageNet classifier: the segmentation trunk at stride 32, BN-ReLU, pool, fc.

    Parameter names are those of the public wider_resnet38.pth.tar (`bn_out.0.*`,
    `classifier.fc.*`), so a checkpoint of this model loads into deeplabv3plus_wrn38 as its
    `model.pretrained_backbone` (the stride changes no parameter shape).
    """

    def __init__(self, num_classes: int = 1000, norm_layer=nn.BatchNorm2d):
        super().__init__(output_stride=32, norm_layer=norm_layer)
        self.bn_out = norm_relu(self.out_channels, norm_layer)
        self.classifier = nn.Sequential(OrderedDict([
            ("avg_pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten(1)),
            ("fc", nn.Linear(self.out_channels, num_classes))]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns the logits (N, num_classes)."""
        _, _, features, _ = super().forward(x)
        return self.classifier(self.bn_out(features))


# Classification models of this project, next to torchvision's.
OWN_MODELS = {"wider_resnet38_a2": WiderResNet38A2}


def classifier_names() -> list[str]:
    """Returns the classification model names build_classifier accepts: torchvision's and ours."""
    return torchvision.models.list_models(module=torchvision.models) + list(OWN_MODELS)


def build_classifier(name: str, *, num_classes: int = 1000, padding: str = "partial") -> nn.Module:
    """Returns the model `name` with random weights, `num_classes` outputs and padding `padding`.

    `name`: a torchvision classification model, or wider_resnet38_a2 (the WideResNet38-A2
    encoder of the paper's segmentation model, trained here to make its ImageNet weights).
    """
    names = classifier_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" — did you mean {', '.join(close)}?" if close else ""
        raise BadValueError(
            f"model.name={name!r} is not a classification model{hint} (see "
            f"torchvision.models.list_models(module=torchvision.models), or "
            f"{', '.join(OWN_MODELS)})"
        )
    if padding not in PADDING_MODES:
        raise BadValueError(f"model.padding={padding!r}: use one of {', '.join(PADDING_MODES)}")
    if name in OWN_MODELS:
        return set_padding(OWN_MODELS[name](num_classes=num_classes), padding)
    extra = (
        {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
    )
    model = torchvision.models.get_model(name, weights=None, num_classes=num_classes, **extra)
    return set_padding(model, padding)


def classifier_logits(output) -> torch.Tensor:
    """Returns the logits tensor of a torchvision classifier's output (main head of a
    namedtuple)."""
    return output if isinstance(output, torch.Tensor) else output[0]

