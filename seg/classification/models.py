"""torchvision classification models built by name, with every padded convolution in one padding
mode.

The paper (section 4.1) takes the official PyTorch model definitions and only swaps the padding:
`build_classifier("vgg16_bn", padding="partial")` is torchvision's vgg16_bn with each padded
nn.Conv2d switched by seg.layers.set_padding, so the parameters and state_dict keys are
torchvision's and any padding mode loads any checkpoint (the cross testing of table 4).
"""
from __future__ import annotations

import difflib

import torch
import torchvision
from torch import nn

from seg.layers import PADDING_MODES, set_padding
from seg.utils.errors import BadValueError

# The paper's networks (table 2); any other torchvision classification name works too.
PAPER_MODELS = ("vgg16_bn", "vgg19_bn", "resnet50", "resnet101", "resnet152")


def classifier_names() -> list[str]:
    """Returns the torchvision classification model names build_classifier accepts."""
    return torchvision.models.list_models(module=torchvision.models)


def build_classifier(name: str, *, num_classes: int = 1000, padding: str = "partial") -> nn.Module:
    """Returns torchvision's `name` with random weights, `num_classes` outputs and padding
    `padding`."""
    names = classifier_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" — did you mean {', '.join(close)}?" if close else ""
        raise BadValueError(
            f"model.name={name!r} is not a torchvision classification model{hint} "
            f"(see torchvision.models.list_models(module=torchvision.models))"
        )
    if padding not in PADDING_MODES:
        raise BadValueError(f"model.padding={padding!r}: use one of {', '.join(PADDING_MODES)}")
    extra = (
        {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
    )
    model = torchvision.models.get_model(name, weights=None, num_classes=num_classes, **extra)
    return set_padding(model, padding)


def classifier_logits(output) -> torch.Tensor:
    """Returns the logits tensor of a torchvision classifier's output (main head of a
    namedtuple)."""
    return output if isinstance(output, torch.Tensor) else output[0]
