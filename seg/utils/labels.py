"""Cityscapes label facts: the ignore index, train class names and colours, labelId <-> trainId
tables.

Every table is built from cityscapesscripts' own label list, so there is no hand-written copy to
drift from the official evaluation; the rest of the package imports these facts from here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from cityscapesscripts.helpers.labels import labels as CITYSCAPES_LABELS

from seg.utils.errors import BadValueError

IGNORE_INDEX = 255
NUM_CLASSES = 19

# Only ids 0..33 occur in PNGs; "license plate" (id -1) is never written to label images.
_TABLE = [label for label in CITYSCAPES_LABELS if label.id >= 0]
KNOWN_LABEL_IDS = frozenset(label.id for label in _TABLE)

CLASS_NAMES = tuple(
    next(label.name for label in _TABLE if label.trainId == train_id)
    for train_id in range(NUM_CLASSES)
)
CLASS_COLORS = tuple(
    next(label.color for label in _TABLE if label.trainId == train_id)
    for train_id in range(NUM_CLASSES)
)


def _build_lookup() -> np.ndarray:
    """Return a 256-entry uint8 table labelId -> trainId (255 for ignored ids)."""
    lookup = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for label in _TABLE:
        # cityscapesscripts marks ignored classes with trainId 255 or -1.
        lookup[label.id] = label.trainId if 0 <= label.trainId < NUM_CLASSES else IGNORE_INDEX
    return lookup


def _build_inverse() -> np.ndarray:
    """Return a 256-entry uint8 table trainId -> labelId (255 and unused trainIds -> 0,
    unlabeled)."""
    inverse = np.zeros(256, dtype=np.uint8)
    for label in _TABLE:
        if 0 <= label.trainId < NUM_CLASSES:
            inverse[label.trainId] = label.id
    return inverse


LABEL_ID_TO_TRAIN_ID = _build_lookup()
TRAIN_ID_TO_LABEL_ID = _build_inverse()
_KNOWN = np.zeros(256, dtype=bool)
_KNOWN[list(KNOWN_LABEL_IDS)] = True


def label_ids_to_train_ids(label_ids: np.ndarray, path: str | Path = "<array>") -> np.ndarray:
    """Return the trainId map (uint8, 255 = ignore) of a labelIds map; unknown ids raise, naming
    `path`."""
    present = np.unique(label_ids)
    unknown = [int(v) for v in present if v < 0 or v > 255 or not _KNOWN[int(v)]]
    if unknown:
        raise BadValueError(
            f"{path}: label ids {unknown} are not in the Cityscapes table (valid ids: 0..33). "
            "Is this a *_labelIds.png (not *_color.png or *_instanceIds.png)? See "
            "datasets/README.md."
        )
    return LABEL_ID_TO_TRAIN_ID[label_ids.astype(np.uint8, copy=False)]


def check_train_ids(train_ids: np.ndarray, path: str | Path = "<array>") -> np.ndarray:
    """Return `train_ids` unchanged after checking every value is a trainId (0..18) or 255."""
    present = np.unique(train_ids)
    bad = [int(v) for v in present if not (v < NUM_CLASSES or v == IGNORE_INDEX)]
    if bad:
        raise BadValueError(
            f"{path}: values {bad} are not Cityscapes trainIds (0..{NUM_CLASSES - 1} or "
            f"{IGNORE_INDEX}). "
            "Regenerate it with datasets/prepare_cityscapes.py."
        )
    return train_ids


def train_ids_to_label_ids(train_ids: np.ndarray) -> np.ndarray:
    """Return the labelIds map (uint8) of a trainId map; 255 becomes 0 (unlabeled)."""
    return TRAIN_ID_TO_LABEL_ID[train_ids.astype(np.uint8, copy=False)]


def label_ids_to_color(label_ids: np.ndarray) -> np.ndarray:
    """Return the (H, W, 3) RGB uint8 gtFine_color image of a labelIds map, in cityscapesscripts'
    colours."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    for label in _TABLE:
        palette[label.id] = label.color
    return palette[label_ids]
