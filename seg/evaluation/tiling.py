"""Regular (whole image) and tiled inference, the two ways the paper's table 6 evaluates a model.

Tiles are squares of side `tile` (shrunk to the image when the image is smaller) placed with
stride ceil(tile * (1 - overlap)); the last tile of each axis is shifted inward to end at the
border, so no tile is ever padded. All tiles of an image run as one batch and the logits of
overlapping tiles are averaged.
"""
import math

import torch

from seg.utils.errors import BadValueError

# Mode name -> tile overlap (None = the whole image); the paper's columns in table 6.
MODE_OVERLAP = {"regular": None, "tile": 0.0, "tile_overlap": 1.0 / 3.0}


def tile_starts(length, tile, overlap):
    """Return the start offsets of the tiles covering [0, length) along one axis."""
    if not 0 <= overlap < 1:
        raise BadValueError(f"tile overlap {overlap} is outside [0, 1); use 0 or 1/3")
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
    crop_valid = (
        None
        if valid is None
        else torch.cat([valid[:, :, t : t + h, l : l + w] for t, l, h, w in boxes])
    )
    logits = _forward(model, crops, crop_valid)
    if len(boxes) == 1:
        return logits
    return _average_tiles(logits, boxes, n, height, width, tile, overlap)


def _average_tiles(logits, boxes, n, height, width, tile, overlap):
    # Each image is a fresh ~160 MB buffer at 1024x2048x19, so it is touched as few times as
    # possible: the part of a tile that no earlier tile covered is copied, the rest added, and only
    # the rows and columns covered by more than one tile are divided. The tiles form a grid visited
    # row by row, so what earlier tiles covered is the rows of the previous tile row plus, in this
    # row, the columns of the previous tile. (Overlap 0 still overlaps when the last tile is shifted
    # inward.)
    total = logits.new_empty((n, logits.shape[1], height, width))
    prev_row_end, prev_col_end, row_top = 0, 0, None
    for i, (t, l, h, w) in enumerate(boxes):
        if t != row_top:  # a new row of tiles
            if row_top is not None:
                prev_row_end = row_top + h
            row_top, prev_col_end = t, 0
        tile_logits = logits[i * n:(i + 1) * n]
        # rows already written by the previous tile row
        above = max(0, min(prev_row_end, t + h) - t)
        left = max(0, min(prev_col_end, l + w) - l)  # columns already written by the previous tile
        if above > 0:
            total[:, :, t:t + above, l:l + w].add_(tile_logits[:, :, :above])
        if left > 0:
            total[:, :, t + above:t + h, l:l + left].add_(tile_logits[:, :, above:, :left])
        total[:, :, t + above:t + h, l + left:l + w].copy_(tile_logits[:, :, above:, left:])
        prev_col_end = l + w
    for dim, length in ((3, width), (2, height)):
        count = _axis_count(length, tile, overlap)
        shared = (count > 1).nonzero()
        if len(shared):
            lo, hi = int(shared.min()), int(shared.max()) + 1
            shape = [1, 1, 1, 1]
            shape[dim] = hi - lo
            total.narrow(dim, lo, hi - lo).div_(count[lo:hi].to(total).view(shape))
    return total


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
        raise BadValueError(
            f"unknown evaluation mode {mode!r}; choose from {', '.join(MODE_OVERLAP)}"
        )
    overlap = MODE_OVERLAP[mode]
    if overlap is None:
        return predict_regular(model, image, valid)
    return predict_tiled(model, image, tile=tile, overlap=overlap, valid=valid)
