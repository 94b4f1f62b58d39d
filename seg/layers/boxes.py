"""Which samples of a valid mask are rectangles, and remembering it for the masks convs make.

A padded batch's mask is one rectangle per sample, and so is every mask the convs and the
residual/concat intersections derive from it. Knowing the boxes lets seg.layers run a masked
conv on the real crop (seg.layers.ratio.rectangle_plan); reading them from a mask costs a few
reductions and a host sync, so the boxes of recent masks are remembered here.
"""
import torch

from seg.layers.ratio import rectangle_bounds

_BOXES: list = []  # [(mask, version, boxes)]: the last few masks seen, newest last
_BOXES_KEPT = 4  # masks are single-channel maps; keep few (a 1x1x1024x2048 one is 8 MB)


def _version(tensor: torch.Tensor) -> int:
    # Inference tensors have no version counter; masks are not modified in place by this
    # codebase, and in inference mode that check is given up.
    return -1 if tensor.is_inference() else tensor._version


def remember_boxes(valid: torch.Tensor, boxes) -> None:
    """Records that valid's samples are the rectangles boxes (a conv that made valid_out knows)."""
    _BOXES.append((valid, _version(valid), boxes))
    del _BOXES[:-_BOXES_KEPT]


def known_boxes(valid: torch.Tensor):
    """Returns the remembered boxes of valid (see rectangle_boxes), None if not remembered."""
    for mask, version, boxes in reversed(_BOXES):
        if mask is valid and version == _version(valid):
            return boxes
    return None


def rectangle_boxes(valid: torch.Tensor):
    """Returns [(top, bottom, left, right)] per sample (ints; empty: top == bottom) if every
    sample's mask is one axis-aligned rectangle, else None.

    Reading a mask's boxes costs a few reductions and a host sync, and a network hands the same
    mask to several convs (a block's first conv and its shortcut, the ASPP branches) or to the
    next conv right after making it: the last few masks are remembered (same tensor object,
    unmodified since).
    """
    boxes = known_boxes(valid)
    if boxes is not None:
        return boxes
    bounds = rectangle_bounds(valid)
    boxes = None
    if bounds is not None:
        (top, bottom), (left, right) = bounds
        boxes = [tuple(box) for box in torch.cat([top, bottom, left, right], dim=1).tolist()]
    remember_boxes(valid, boxes)
    return boxes
