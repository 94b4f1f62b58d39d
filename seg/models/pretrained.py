"""Loading a local ImageNet checkpoint into a trunk (torchvision resnet50,
wider_resnet38.pth.tar)."""
import warnings
from pathlib import Path
from typing import List, NamedTuple

import torch
import torch.nn as nn


class LoadReport(NamedTuple):
    """Keys of a checkpoint load: loaded, missing (kept at init), unexpected and dropped."""

    loaded: List[str]
    missing: List[str]
    unexpected: List[str]
    dropped: List[str]  # ImageNet-only keys (classifier), expected in the file and skipped


def read_state_dict(path) -> dict:
    """Returns the tensor state_dict of a checkpoint file, without any `module.` prefix.

    Accepts a bare state_dict (torchvision) or a dict holding one under "state_dict" or
    "model" (wider_resnet38.pth.tar stores {"state_dict": ..., ...}).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained_backbone={str(path)!r}: no such file; download the "
                                "ImageNet checkpoint there or pass pretrained_backbone=None")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{path}: expected a state_dict (a dict of tensors), got "
                         f"{type(checkpoint).__name__}")
    return {_strip_module(key): value for key, value in checkpoint.items()
            if isinstance(value, torch.Tensor)}


def _strip_module(key: str) -> str:
    """Returns key without the `module.` prefix of DataParallel/DistributedDataParallel."""
    return key[len("module."):] if key.startswith("module.") else key


def load_backbone(trunk: nn.Module, path) -> LoadReport:
    """Returns the LoadReport of copying the checkpoint at path into trunk.

    Keys under the trunk's `imagenet_only` prefixes (the ImageNet classifier) are dropped.
    Missing and unexpected keys are reported by name in a warning (BatchNorm's
    `num_batches_tracked`, absent from older checkpoints, is not worth one); a shape mismatch
    or a file that matches no key at all raises, naming the file and the keys.
    """
    state = read_state_dict(path)
    own = trunk.state_dict()
    prefixes = tuple(getattr(trunk, "imagenet_only", ()))
    dropped = sorted(key for key in state if prefixes and key.startswith(prefixes))
    state = {key: value for key, value in state.items() if key not in dropped}
    mismatched = [f"{key}: file {tuple(value.shape)} vs model {tuple(own[key].shape)}"
                  for key, value in state.items() if key in own and value.shape != own[key].shape]
    if mismatched:
        raise ValueError(f"{path}: {len(mismatched)} tensor(s) disagree in shape with the "
                         f"{type(trunk).__name__} trunk (wrong architecture or checkpoint?): "
                         + "; ".join(mismatched[:10]))
    loaded = sorted(key for key in state if key in own)
    if not loaded:
        raise ValueError(f"{path}: none of its {len(state)} keys (e.g. {sorted(state)[:3]}) "
                         f"match the {type(trunk).__name__} trunk (e.g. {sorted(own)[:3]}); "
                         "is it the checkpoint for this backbone?")
    missing = sorted(key for key in own if key not in state
                     and not key.endswith("num_batches_tracked"))
    unexpected = sorted(key for key in state if key not in own)
    trunk.load_state_dict(state, strict=False)
    if missing or unexpected:
        warnings.warn(f"{path}: loaded {len(loaded)} tensors into {type(trunk).__name__}; "
                      f"missing (left at init): {missing}; unexpected (ignored): {unexpected}",
                      stacklevel=2)
    return LoadReport(loaded, missing, unexpected, dropped)
