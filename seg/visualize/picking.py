"""`--pick border-diff`: the images where the zero and partial padding predictions differ most near
borders.

"Near a border" means within `band` pixels of the image border, and, in the tiled modes, of a
tile border too, since every tile edge is padded during tiled inference (paper figures 6 and 8).
"""
import torch

from seg.evaluation.regions import border_distance
from seg.evaluation.tiling import MODE_OVERLAP

PICKS = ("border-diff",)


def near_border_mask(height, width, *, mode="regular", tile=1024, band=64):
    """Return a bool (H, W) map: True within `band` px of the image border (or a tile border in
    tiled modes)."""
    overlap = MODE_OVERLAP[mode]
    distance = (
        border_distance(height, width)
        if overlap is None
        else border_distance(height, width, tile, overlap)
    )
    return distance < band


def border_diff_score(pred_zero, pred_partial, near_border):
    """Return the fraction of near-border pixels where the two predicted trainId maps disagree."""
    if pred_zero.shape != pred_partial.shape or pred_zero.shape != near_border.shape:
        raise ValueError(
            f"prediction shapes {tuple(pred_zero.shape)}, {tuple(pred_partial.shape)} and border "
            "mask "
            f"{tuple(near_border.shape)} must match"
        )
    differ = (torch.as_tensor(pred_zero) != torch.as_tensor(pred_partial)) & torch.as_tensor(
        near_border
    )
    return float(differ.sum()) / max(1, int(torch.as_tensor(near_border).sum()))


def pick_most_different(scores, num):
    """Return the `num` names with the highest scores; equal scores in name order, so picks never
    depend on order."""
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, _ in ranked[:num]]
