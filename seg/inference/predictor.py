"""Predictor: a trained segmentation model applied to images of any sizes.

    predictor = load_predictor("checkpoints/partial/best.pth", device="cpu")
    train_ids = predictor.predict(image)                       # (H, W) int64
    maps, probs = predictor.predict([a, b, c], scales=(0.5, 1.0, 2.0), flip=True,
                                    return_probabilities=True)  # lists, one entry per image

A partial-padding model runs images of different sizes as one padded batch with a `valid`
mask, which gives each image exactly its own logits (seg.models.valid_region). Other padding
modes do not know holes: the padding would move their predictions, so their images run in
groups of equal size, never padded.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from seg.evaluation.augment import augmented_logits, check_scales, scaled_size
from seg.evaluation.tiling import MODE_OVERLAP
from seg.evaluation.tiling import predict as predict_tiles
from seg.inference.batch import pad_batch, size_groups, unpad
from seg.inference.images import ImageLike, normalize, to_rgb
from seg.layers import get_padding_mode
from seg.utils.errors import UserError


@dataclass
class Predictor:
    """A model in eval mode and the facts its checkpoint stores about it."""

    model: nn.Module
    num_classes: int
    output_stride: int = 8
    name: str = "model"  # the checkpoint's path, for messages
    device: str = "cpu"
    batch_size: Optional[int] = None  # images per forward in regular mode (None: all at once)

    @property
    def padding(self) -> str:
        """Returns the model's padding mode ('partial', 'zeros', ...)."""
        return get_padding_mode(self.model)

    def check(self, size, name: str, scales: Sequence[float] = (1.0,)) -> None:
        """Raises UserError if an image of size (h, w), at any of scales, has a side below the
        output stride (the model's smallest feature map would have no full cell)."""
        for scale in check_scales(scales):
            scaled = scaled_size(size, scale)
            if min(scaled) < self.output_stride:
                at = "" if scale == 1 else f" at scale {scale:g} ({scaled[0]}x{scaled[1]})"
                raise UserError(
                    f"{name} is {size[0]}x{size[1]} pixels{at}, smaller than the output stride "
                    f"{self.output_stride} of {self.name}; upscale it to at least "
                    f"{self.output_stride} pixels per side" + (" or drop that scale" if at else ""))

    def tensors(self, images: Sequence[ImageLike], names: Optional[Sequence[str]] = None):
        """Returns the normalised (3, h, w) tensors of images, checked against the stride."""
        names = names or [f"image {i}" for i in range(len(images))]
        out = []
        for image, name in zip(images, names):
            rgb = to_rgb(image, name)
            self.check(rgb.shape[:2], name)
            out.append(normalize(rgb))
        return out

    @torch.no_grad()
    def logits(self, images: Sequence[ImageLike], *, mode: str = "regular", tile: int = 1024,
               scales: Sequence[float] = (1.0,), flip: bool = False,
               names: Optional[Sequence[str]] = None) -> List[torch.Tensor]:
        """Returns the logits (C, h, w) of each image, averaged over scales and flips."""
        if mode not in MODE_OVERLAP:
            raise UserError(f"unknown mode {mode!r}; choose one of {', '.join(MODE_OVERLAP)}")
        tensors = self.tensors(images, names)

        def forward(batch: List[torch.Tensor]) -> List[torch.Tensor]:
            if mode == "regular":
                return self._regular(batch)
            return [predict_tiles(self.model, image[None].to(self.device), mode, tile=tile)[0]
                    for image in batch]

        return augmented_logits(forward, tensors, scales=scales, flip=flip,
                                min_size=self.output_stride)

    def predict(self, images, *, mode: str = "regular", tile: int = 1024,
                scales: Sequence[float] = (1.0,), flip: bool = False,
                return_probabilities: bool = False, names: Optional[Sequence[str]] = None):
        """Returns trainId maps (H, W) int64, and with return_probabilities the softmax
        (C, H, W): one of each for one image, lists for a list of images."""
        single = not isinstance(images, (list, tuple))
        batch = [images] if single else list(images)
        logits = self.logits(batch, mode=mode, tile=tile, scales=scales, flip=flip, names=names)
        maps = [item.argmax(0).cpu() for item in logits]
        if not return_probabilities:
            return maps[0] if single else maps
        probabilities = [item.softmax(0).cpu() for item in logits]
        return (maps[0], probabilities[0]) if single else (maps, probabilities)

    def _regular(self, images: List[torch.Tensor]) -> List[torch.Tensor]:
        """Returns whole-image logits: padded batches (partial), equal-size groups (others)."""
        out: List = [None] * len(images)
        if self.padding == "partial":
            # Largest first, so that each chunk of batch_size pads little.
            groups = [sorted(range(len(images)), key=lambda i: -images[i][0].numel())]
        else:
            groups = size_groups([tuple(image.shape[-2:]) for image in images])
        step = self.batch_size or len(images)
        for group in groups:
            for start in range(0, len(group), step):
                chunk = group[start:start + step]
                parts = [images[i] for i in chunk]
                batch, valid = pad_batch(parts)
                batch, valid = batch.to(self.device), valid.to(self.device)
                # A batch without holes takes the plain path (and models without `valid` work).
                logits = self.model(batch) if bool(valid.min() > 0) else self.model(batch, valid)
                for i, part in zip(chunk, unpad(logits, [p.shape[-2:] for p in parts])):
                    out[i] = part
        return out
