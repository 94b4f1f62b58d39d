"""Which pixels each border-focused score looks at: center leave-out (paper table 7) and distance
bands.

The center leave-out of proportion p sets the labels of the central round(p*H) x round(p*W)
rectangle to "don't care"; p = 0 scores the whole image. The distance bands group pixels by their
distance to the nearest image border, or, for tiled inference, to the nearest edge of a tile
that covers them (the image border is a tile edge too).
"""
from fractions import Fraction

import torch

from seg.evaluation.tiling import tile_starts
from seg.utils.errors import BadValueError

# Band edges in pixels: 0-16, 16-32, 32-64, 64-128, 128-256, 256+.
DISTANCE_EDGES = (16, 32, 64, 128, 256)


def parse_leave_out(value):
    """Return a leave-out proportion as a Fraction from "0", "1/3", "0.5"; rejects values outside
    [0, 1)."""
    try:
        p = Fraction(value).limit_denominator(1000)
    except (ValueError, ZeroDivisionError):
        raise BadValueError(
            f"leave-out proportion {value!r} is not a number; write it as 1/3 or 0.5"
        ) from None
    if not 0 <= p < 1:
        raise BadValueError(
            f"leave-out proportion {value} must be in [0, 1) (1 would leave nothing to score)"
        )
    return p


def center_box(height, width, leave_out):
    """Return (top, left, h, w) of the central region left out for proportion `leave_out`."""
    h, w = round(leave_out * height), round(leave_out * width)
    return (height - h) // 2, (width - w) // 2, h, w


def center_leave_out_mask(height, width, leave_out):
    """Return a bool (H, W) mask, True where a pixel is still scored (outside the left-out
    center)."""
    keep = torch.ones(height, width, dtype=torch.bool)
    top, left, h, w = center_box(height, width, leave_out)
    keep[top:top + h, left:left + w] = False
    return keep


def leave_out_rings(height, width, proportions):
    """Return an int64 (H, W) map: for each pixel the number of proportions that still score it.

    Proportions must be ascending; the centers are nested, so a pixel scored for p_k is scored for
    every smaller p. Proportion index k then scores exactly the pixels with ring > k, which lets
    one bincount over rings serve all proportions.
    """
    if list(proportions) != sorted(proportions):
        raise BadValueError(f"leave-out proportions {proportions} must be ascending")
    rings = torch.zeros(height, width, dtype=torch.int64)
    for p in proportions:
        rings += center_leave_out_mask(height, width, p)
    return rings


def _axis_distance(length, tile=None, overlap=0.0):
    # Distance of each position to the nearest edge of any tile covering it (the whole axis if tile
    # is None).
    pos = torch.arange(length)
    if tile is None:
        return torch.minimum(pos, length - 1 - pos)
    size = min(tile, length)
    best = torch.full((length,), length, dtype=torch.int64)
    for start in tile_starts(length, tile, overlap):
        inside = slice(start, start + size)
        best[inside] = torch.minimum(
            best[inside], torch.minimum(pos[inside] - start, start + size - 1 - pos[inside])
        )
    return best


def border_distance(height, width, tile=None, overlap=0.0):
    """Return int64 (H, W) distance in pixels to the nearest image border, or tile border when
    `tile` is given."""
    dy = _axis_distance(height, tile, overlap)
    dx = _axis_distance(width, tile, overlap)
    return torch.minimum(dy[:, None], dx[None, :])


def distance_bands(distance, edges=DISTANCE_EDGES):
    """Return the band index (0 .. len(edges)) of each distance: band i holds edges[i-1] <= d <
    edges[i]."""
    return torch.bucketize(distance, torch.tensor(edges, dtype=distance.dtype), right=True)


def band_names(edges=DISTANCE_EDGES):
    """Return the band labels, e.g. ["0-16", "16-32", ..., "256+"]."""
    lows = (0,) + tuple(edges)
    return [f"{lo}-{hi}" for lo, hi in zip(lows, edges)] + [f"{edges[-1]}+"]
