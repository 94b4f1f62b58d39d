"""The authors' initialisation of the DeepLabV3+ head (NVIDIA semantic-segmentation, mynn.py).

Convolutions and linear layers: Kaiming normal (fan_in, gain sqrt(2): std sqrt(2 / fan_in)), bias
0; BatchNorm: weight 1, bias 0. Applied to the head only; the trunk keeps its own initialisation
or its ImageNet weights.
"""

from torch import nn


def initialize_head(*modules: nn.Module) -> None:
    """Re-initialises every conv, linear and BatchNorm layer inside `modules` in place."""
    for module in modules:
        for layer in module.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(layer.weight)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
            elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
                nn.init.ones_(layer.weight)
                nn.init.zeros_(layer.bias)
