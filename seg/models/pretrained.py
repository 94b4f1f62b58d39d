"""ImageNet weights for a trunk: torchvision's weights API, or a local checkpoint file.

`model.pretrained_backbone` names the source:

* "torchvision:ResNet50_Weights.IMAGENET1K_V1" (any torchvision weights enum): read through
  torchvision's own API from its cache, $TORCH_HOME/hub/checkpoints/<torchvision's file name>,
  downloaded there when the machine is online;
* a file: a bare state_dict (torchvision), the public wider_resnet38.pth.tar ({"state_dict":
  ...} with `module.` prefixes) or a checkpoint of tools/train_classifier.py ({"model": ...}),
  e.g. a ResNet50 or WideResNet38-A2 trained on ImageNet with partial padding.

Files are loaded with weights_only=True: tensors and plain containers only, plus the numpy arrays
of the RNG states that training checkpoints carry.
"""

import os
import pickle
import warnings
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlparse

import numpy as np
import torch
import torchvision
from torch import nn

from seg.utils.errors import UserError

TORCHVISION_PREFIX = "torchvision:"
# Data-only numpy types in the RNG states of training checkpoints (seg.engine.checkpoint).
_NUMPY_GLOBALS = [
    np.ndarray,
    np.dtype,
    np._core.multiarray._reconstruct,
    type(np.dtype(np.uint32)),
    type(np.dtype(np.float64)),
]


class LoadReport(NamedTuple):
    """Keys of a checkpoint load: loaded, missing (kept at init), unexpected and dropped."""

    loaded: list[str]
    missing: list[str]
    unexpected: list[str]
    dropped: list[str]  # ImageNet-only keys (classifier), expected in the file and skipped

    def summary(self, source: str) -> str:
        """Return one line naming the source and the key counts (and the missing keys, if any)."""
        line = (
            f"pretrained backbone {source}: loaded {len(self.loaded)} tensors, dropped "
            f"{len(self.dropped)} ImageNet-only ({', '.join(_prefixes(self.dropped)) or '-'})"
        )
        if self.missing:
            line += f"; missing (left at init): {self.missing}"
        if self.unexpected:
            line += f"; unexpected (ignored): {self.unexpected}"
        return line


def _prefixes(keys: list[str]) -> list[str]:
    """Return the sorted first components of keys ("fc", "bn_out", ...)."""
    return sorted({key.split(".")[0] for key in keys})


def torchvision_cache_file(weights) -> Path:
    """Return where torchvision's weights API keeps `weights`: <hub dir>/checkpoints/<name>."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def torchvision_state_dict(name: str) -> dict:
    """Return the state_dict of torchvision weights `name` (e.g. ResNet50_Weights.IMAGENET1K_V1)."""
    try:
        weights = torchvision.models.get_weight(name)
    except (ValueError, KeyError, AttributeError):
        raise UserError(
            f"model.pretrained_backbone={TORCHVISION_PREFIX}{name}: not a torchvision "
            "weights name; use e.g. torchvision:ResNet50_Weights.IMAGENET1K_V1"
        ) from None
    cache = torchvision_cache_file(weights)
    try:
        return weights.get_state_dict(progress=False, weights_only=True)
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        raise UserError(
            f"cannot read torchvision weights {name}: {cache} is absent and downloading "
            f'{weights.url} failed ({error}); on a machine with internet run `python -c "import '
            f"torchvision; torchvision.models.get_weight('{name}').get_state_dict()\"` and copy "
            f"the file to {cache} (the folder is $TORCH_HOME/hub/checkpoints)"
        ) from None


def read_state_dict(path) -> dict:
    """Return the tensor state_dict of a checkpoint file, without any `module.` prefix.

    Accepts a bare state_dict (torchvision) or a dict holding one under "state_dict"
    (wider_resnet38.pth.tar) or "model" (this project's training checkpoints).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"model.pretrained_backbone={str(path)!r}: no such file; put the ImageNet "
            "checkpoint there (docs/recipe.md) or set model.pretrained_backbone=null"
        )
    try:
        with torch.serialization.safe_globals(_NUMPY_GLOBALS):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UserError(
            f"model.pretrained_backbone={str(path)!r}: refused to load — it holds objects other "
            f"than tensors ({str(error).strip().splitlines()[0][:160]}); use a plain state_dict "
            "file you trust"
        ) from None
    except Exception as error:  # noqa: BLE001 - any unreadable file is the user's to replace
        raise UserError(
            f"model.pretrained_backbone={str(path)!r}: not a readable weights file "
            f"({type(error).__name__}: {str(error).splitlines()[0]})"
        ) from None
    for key in ("state_dict", "model"):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
    if not isinstance(checkpoint, dict):
        raise UserError(
            f"{path}: expected a state_dict (a dict of tensors), got {type(checkpoint).__name__}"
        )
    return {
        _strip_module(key): value
        for key, value in checkpoint.items()
        if isinstance(value, torch.Tensor)
    }


def read_pretrained(source: str) -> dict:
    """Return the state_dict named by a model.pretrained_backbone value (torchvision: or a path)."""
    if source.startswith(TORCHVISION_PREFIX):
        return torchvision_state_dict(source[len(TORCHVISION_PREFIX) :])
    return read_state_dict(source)


def _strip_module(key: str) -> str:
    """Return key without the `module.` prefix of DataParallel/DistributedDataParallel."""
    return key.removeprefix("module.")


def load_backbone(trunk: nn.Module, source) -> LoadReport:
    """Return the LoadReport of copying the weights named by `source` into trunk.

    Keys under the trunk's `imagenet_only` prefixes (the ImageNet classifier) are dropped.
    Missing and unexpected keys are reported by name in a warning (BatchNorm's
    `num_batches_tracked`, absent from older checkpoints, is not worth one); a shape mismatch
    or a file that matches no key at all raises, naming the file and the keys.
    """
    state = read_pretrained(str(source))
    own = trunk.state_dict()
    prefixes = tuple(getattr(trunk, "imagenet_only", ()))
    dropped = sorted(key for key in state if prefixes and key.startswith(prefixes))
    state = {key: value for key, value in state.items() if key not in dropped}
    mismatched = [
        f"{key}: file {tuple(value.shape)} vs model {tuple(own[key].shape)}"
        for key, value in state.items()
        if key in own and value.shape != own[key].shape
    ]
    if mismatched:
        raise UserError(
            f"{source}: {len(mismatched)} tensor(s) disagree in shape with the "
            f"{type(trunk).__name__} trunk (wrong architecture or checkpoint?): "
            + "; ".join(mismatched[:10])
        )
    loaded = sorted(key for key in state if key in own)
    if not loaded:
        raise UserError(
            f"{source}: none of its {len(state)} keys (e.g. {sorted(state)[:3]}) "
            f"match the {type(trunk).__name__} trunk (e.g. {sorted(own)[:3]}); "
            "is it the checkpoint for this backbone?"
        )
    missing = sorted(
        key for key in own if key not in state and not key.endswith("num_batches_tracked")
    )
    unexpected = sorted(key for key in state if key not in own)
    trunk.load_state_dict(state, strict=False)
    if missing or unexpected:
        warnings.warn(
            f"{source}: loaded {len(loaded)} tensors into {type(trunk).__name__}; "
            f"missing (left at init): {missing}; unexpected (ignored): {unexpected}",
            stacklevel=2,
        )
    return LoadReport(loaded, missing, unexpected, dropped)
