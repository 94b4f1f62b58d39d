"""DeepLabV3+ on ResNet50 / WideResNet38 (and a small CPU model) with partial padding and masks."""
from seg.models.build import BUILDERS, MODEL_NAMES, build_model
from seg.models.deeplabv3plus import DeepLabV3Plus
from seg.models.pretrained import LoadReport, load_backbone

__all__ = ["BUILDERS", "MODEL_NAMES", "DeepLabV3Plus", "LoadReport", "build_model",
           "load_backbone"]
