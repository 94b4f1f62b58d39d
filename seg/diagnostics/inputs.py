"""Images, predictions and intermediate features the diagnostics share."""
import inspect
import pathlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from seg.data.cityscapes import read_image
from seg.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from seg.utils.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def normalise(rgb: torch.Tensor) -> torch.Tensor:
    """Returns (N, 3, H, W) images in [0, 1] normalised as the models are trained."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (rgb - mean) / std


def load_images(folder, count: int, size) -> torch.Tensor:
    """Returns the first `count` images under folder (sorted, recursive), centre-cropped to
    size (H, W) at their own scale (scaled up first only if smaller) and normalised:
    (count, 3, H, W) float32."""
    folder = pathlib.Path(folder)
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise UserError(f"no .png/.jpg images under {folder} — pass --images with a folder of "
                        "images (e.g. datasets/synthetic/leftImg8bit/val)")
    height, width = size
    rgb = []
    for path in paths[:count]:
        image = torch.from_numpy(np.ascontiguousarray(read_image(path))).permute(2, 0, 1)
        image = image[None].float() / 255
        scale = max(height / image.shape[-2], width / image.shape[-1])
        if scale > 1:
            image = F.interpolate(image, scale_factor=scale, mode="bilinear",
                                  align_corners=False).clamp(0, 1)
        top = (image.shape[-2] - height) // 2
        left = (image.shape[-1] - width) // 2
        rgb.append(image[..., top:top + height, left:left + width])
    return normalise(torch.cat(rgb))


def synthetic_images(kind: str, count: int, size, seed: int = 0) -> torch.Tensor:
    """Returns normalised images without content at a position: 'uniform' (one random colour
    per image) or 'noise' (independent uniform pixels)."""
    generator = torch.Generator().manual_seed(seed)
    if kind == "uniform":
        rgb = torch.rand(count, 3, 1, 1, generator=generator).expand(-1, -1, *size)
    elif kind == "noise":
        rgb = torch.rand(count, 3, *size, generator=generator)
    else:
        raise ValueError(f"unknown synthetic image kind {kind!r}; use 'uniform' or 'noise'")
    return normalise(rgb.contiguous())


def takes_valid(model: nn.Module) -> bool:
    """Returns whether model.forward accepts a `valid` mask (this project's segmenters)."""
    return "valid" in inspect.signature(model.forward).parameters


def logits(model: nn.Module, images: torch.Tensor, valid=None) -> torch.Tensor:
    """Returns the model's logits: (N, K, H, W) for a segmenter (upsampled bilinearly to the
    input size if the model's output is smaller), (N, K) for a classifier."""
    output = model(images, valid) if valid is not None else model(images)
    output = output if isinstance(output, torch.Tensor) else output[0]
    if output.dim() == 4 and output.shape[-2:] != images.shape[-2:]:
        output = F.interpolate(output, size=images.shape[-2:], mode="bilinear",
                               align_corners=False)
    return output


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch: int = 4, valid=None):
    """Returns the predicted labels, (N, H, W) or (N,), one batch of images at a time."""
    parts = []
    for start in range(0, len(images), batch):
        mask = None if valid is None else valid[start:start + batch]
        parts.append(logits(model, images[start:start + batch], mask).argmax(1))
    return torch.cat(parts)


def default_layers(model: nn.Module) -> list:
    """Returns the layers whose outputs the feature diagnostics read by default: the last
    block of each trunk stage and the ASPP for this project's DeepLabV3+, else the last module
    of each run of equal output size among the modules two levels deep (a classifier's stages).
    """
    backbone = getattr(model, "backbone", None)
    if backbone is not None and hasattr(backbone, "layer4") and hasattr(model, "aspp"):
        names = [f"backbone.layer{i}.{len(getattr(backbone, f'layer{i}')) - 1}"
                 for i in range(1, 5)]
        return names + ["aspp"]
    sizes = []
    hooks = [module.register_forward_hook(
        lambda m, i, out, name=name: sizes.append((name, _first(out).shape)))
        for name, module in model.named_modules() if name and name.count(".") <= 1]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, 64, 64))
    finally:
        for hook in hooks:
            hook.remove()
    layers = []
    for index, (name, shape) in enumerate(sizes):
        following = sizes[index + 1][1] if index + 1 < len(sizes) else None
        if len(shape) == 4 and min(shape[-2:]) >= 2 and following != shape:
            layers.append(name)
    return layers


def _first(output):
    return output if isinstance(output, torch.Tensor) else output[0]


@torch.no_grad()
def features(model: nn.Module, images: torch.Tensor, layers, batch: int = 4) -> dict:
    """Returns {layer: (N, C, h, w) output} of the named modules for images (eval mode)."""
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise UserError(f"layers {missing} are not modules of {type(model).__name__}; name "
                        "modules as model.named_modules() does")
    captured = {name: [] for name in layers}
    hooks = [modules[name].register_forward_hook(
        lambda m, i, out, name=name: captured[name].append(_first(out).detach().clone()))
        for name in layers]
    try:
        model.eval()
        for start in range(0, len(images), batch):
            model(images[start:start + batch])
    finally:
        for hook in hooks:
            hook.remove()
    empty = [name for name, parts in captured.items() if not parts]
    if empty:
        raise UserError(f"layers {empty} never ran in forward (a container whose children are "
                        "called directly): name one of their children instead")
    return {name: torch.cat(parts) for name, parts in captured.items()}
