"""Regular (whole image) and tiled inference, the two ways the paper's table 6 evaluates a model.

Tiles are squares of side `tile` (shrunk to the image when the image is smaller) placed with
stride ceil(tile * (1 - overlap)); the last tile of each axis is shifted inward to end at the
border, so no tile is ever padded. All tiles of an image run as one batch and the logits of
overlapping tiles are averaged.
"""
import math

import torch

# Mode name -> tile overlap (None = the whole image); the paper's columns in table 6.
MODE_OVERLAP = {"regular": None, "tile": 0.0, "tile_overlap": 1.0 / 3.0}


def tile_starts(length, tile, overlap):
    """Return the start offsets of the tiles covering [0, length) along one axis."""
    if not 0 <= overlap < 1:
        raise ValueError(f"tile overlap {overlap} is outside [0, 1); use 0 or 1/3")
    tile = min(tile, length)
    # round() keeps 1024 * (1 - 1/3) = 682.67 -> 683 but 3 * (1 - 1/3) = 2.0000000000000004 -> 2.
    stride = max(1, math.ceil(round(tile * (1 - overlap), 6)))
    return list(range(0, length - tile, stride)) + [length - tile]


def tile_boxes(height, width, tile, overlap):
    """Return the tiles of an image as (top, left, tile_h, tile_w) tuples, row by row."""
    tile_h, tile_w = min(tile, height), min(tile, width)
    return [(top, left, tile_h, tile_w)
            for top in tile_starts(height, tile, overlap)
            for left in tile_starts(width, tile, overlap)]


def _forward(model, images, valid):
    # Only pass a mask when there are holes, so models without a `valid` argument work too.
    return model(images) if valid is None else model(images, valid=valid)


@torch.no_grad()
def predict_regular(model, image, valid=None):
    """Return logits (N, C, H, W) of the whole image in one forward pass."""
    return _forward(model, image, valid)


@torch.no_grad()
def predict_tiled(model, image, *, tile, overlap, valid=None):
    """Return logits (N, C, H, W) averaged over the tiles covering each pixel.

    image: (N, 3, H, W); the N * num_tiles crops run as one batch.
    """
    n, _, height, width = image.shape
    boxes = tile_boxes(height, width, tile, overlap)
    crops = torch.cat([image[:, :, t:t + h, l:l + w] for t, l, h, w in boxes])
    crop_valid = None if valid is None else torch.cat([valid[:, :, t:t + h, l:l + w] for t, l, h, w in boxes])
    logits = _forward(model, crops, crop_valid)
    if len(boxes) == 1:
        return logits
    # Each image is a fresh ~160 MB buffer at 1024x2048x19, so it is touched as few times as possible:
    # tiles that do not overlap are pasted; otherwise summed, then divided once by the tile count,
    # which is the product of the per-axis counts because the tiles form a grid. (Overlap 0 still
    # overlaps when the last tile is shifted inward.)
    count_y, count_x = (_axis_count(length, tile, overlap).to(logits) for length in (height, width))
    pasted = bool(count_y.max() == 1 and count_x.max() == 1)
    shape = (n, logits.shape[1], height, width)
    total = logits.new_empty(shape) if pasted else logits.new_zeros(shape)
    for i, (t, l, h, w) in enumerate(boxes):
        tile_logits = logits[i * n:(i + 1) * n]
        if pasted:
            total[:, :, t:t + h, l:l + w].copy_(tile_logits)
        else:
            total[:, :, t:t + h, l:l + w].add_(tile_logits)
    return total if pasted else total.div_(count_y[:, None] * count_x[None, :])


def _axis_count(length, tile, overlap):
    # How many tiles cover each position along one axis.
    count = torch.zeros(length)
    size = min(tile, length)
    for start in tile_starts(length, tile, overlap):
        count[start:start + size] += 1
    return count


def predict(model, image, mode, *, tile=1024, valid=None):
    """Return logits (N, C, H, W) of `image` in one of MODE_OVERLAP's modes."""
    if mode not in MODE_OVERLAP:
        raise ValueError(f"unknown evaluation mode {mode!r}; choose from {', '.join(MODE_OVERLAP)}")
    overlap = MODE_OVERLAP[mode]
    if overlap is None:
        return predict_regular(model, image, valid)
    return predict_tiled(model, image, tile=tile, overlap=overlap, valid=valid)
