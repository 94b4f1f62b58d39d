"""Multi-scale and flip test-time augmentation: logits averaged at the input size.

Each scale (and its mirror image, with flip) runs on its own and is resized back to the input
size before it is added, so memory holds one scaled batch and one running sum per image, never
every scale at once. Images are resized with bilinear interpolation (antialiased when shrunk),
logits back with bilinear interpolation, and the mean of the logits is returned: argmax gives the
prediction, softmax the probabilities.
"""
from typing import Callable, List, Sequence

import torch
import torch.nn.functional as F

from seg.utils.errors import UserError


def check_scales(scales: Sequence[float]) -> tuple:
    """Returns scales as a tuple of positive floats (UserError for none, zero or negative)."""
    scales = tuple(float(s) for s in scales)
    if not scales or any(not s > 0 for s in scales):
        raise UserError(f"scales {list(scales)}: give one or more positive factors, "
                        "e.g. --scales 0.5 1.0 2.0")
    return scales


def scaled_size(size, scale: float):
    """Returns (round(h * scale), round(w * scale)), at least 1 pixel each."""
    return tuple(max(1, round(length * scale)) for length in size)


def resize_image(image: torch.Tensor, size) -> torch.Tensor:
    """Returns image (C, h, w) resized to size (bilinear, antialiased when shrinking)."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    shrink = size[0] < image.shape[-2] or size[1] < image.shape[-1]
    return F.interpolate(image[None], size=tuple(size), mode="bilinear", align_corners=False,
                         antialias=shrink)[0]


def augmented_logits(forward: Callable[[List[torch.Tensor]], List[torch.Tensor]],
                     images: Sequence[torch.Tensor], *, scales: Sequence[float] = (1.0,),
                     flip: bool = False, min_size: int = 1) -> List[torch.Tensor]:
    """Returns the mean logits (C, h_i, w_i) of each image over scales and, with flip, mirrors.

    forward: maps a list of images (3, h, w) to their logits (C, h, w), e.g. one padded batch.
    min_size: the smallest side a scaled image may have (the model's output stride); a smaller
    one is a UserError naming the scale.
    """
    scales = check_scales(scales)
    sizes = [tuple(image.shape[-2:]) for image in images]
    totals: List = [None] * len(images)
    views = [(scale, mirrored) for scale in scales for mirrored in ((False, True) if flip
                                                                     else (False,))]
    for scale, mirrored in views:
        inputs = []
        for image, size in zip(images, sizes):
            target = scaled_size(size, scale)
            if min(target) < min_size:
                raise UserError(f"scale {scale:g} makes a {size[0]}x{size[1]} image "
                                f"{target[0]}x{target[1]}, smaller than the model's output "
                                f"stride {min_size}; drop that scale or use larger images")
            scaled = resize_image(image, target)
            inputs.append(scaled.flip(-1) if mirrored else scaled)
        for index, (logits, size) in enumerate(zip(forward(inputs), sizes)):
            logits = logits.flip(-1) if mirrored else logits
            if tuple(logits.shape[-2:]) != size:
                logits = F.interpolate(logits[None], size=size, mode="bilinear",
                                       align_corners=False)[0]
            totals[index] = logits.float() if totals[index] is None else totals[index] + logits
    return [total / len(views) for total in totals]
