"""Test helper: write tiny hand-made Cityscapes trees (no code under test involved)."""
from pathlib import Path

import cv2
import numpy as np


def write_pair(
    root: Path,
    split: str,
    city: str,
    seq: int,
    image: np.ndarray,
    label_ids: np.ndarray | None,
    annotation: str = "gtFine",
) -> tuple[Path, Path]:
    """Write <city>_<seq>_000019 image (RGB) and labelIds PNGs; return their paths."""
    stem = f"{city}_{seq:06d}_000019"
    image_path = root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"
    label_path = root / annotation / split / city / f"{stem}_{annotation}_labelIds.png"
    image_path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(image_path), image[..., ::-1].copy())
    if label_ids is not None:
        label_path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(label_path), label_ids)
    return image_path, label_path


def flat_frame(h: int, w: int, label_id: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return a random RGB image and a labelIds map filled with `label_id`."""
    image = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return image, np.full((h, w), label_id, np.uint8)
