"""What tools/predict.py writes per image, each file complete or absent.

One model:   OUT/overlay/<name>.png   image blended with the class colours (cityscapesscripts)
             OUT/labelIds/<name>.png  8-bit Cityscapes labelIds, the benchmark submission format
Two models:  OUT/zero/..., OUT/partial/... (the same two files per model), and
             OUT/compare/<name>.png   the zero vs partial figure (seg.visualize.pair_figure)

Each file is written under a temporary name in its folder and renamed, so an interrupted run
leaves no half-written PNG; an image whose files all exist is skipped by the next run.
"""
from pathlib import Path
from typing import Dict, List, Sequence

import cv2
import numpy as np
import torch

from seg.utils.files import write_atomic
from seg.utils.labels import train_ids_to_label_ids
from seg.visualize.pair_figure import overlay, pair_figure


def write_png(path: Path, array: np.ndarray) -> Path:
    """Returns path after writing array ((H, W) gray or (H, W, 3) RGB uint8) there atomically."""
    pixels = array if array.ndim == 2 else np.ascontiguousarray(array[..., ::-1])  # RGB -> BGR

    def write(tmp):
        if not cv2.imwrite(str(tmp), pixels):
            raise OSError(f"could not write {path}; check the folder is writable")

    return write_atomic(path, write)


class PredictionWriter:
    """Writes and finds the outputs of the models `keys` (one key, or 'zero' and 'partial')."""

    def __init__(self, out_dir, keys: Sequence[str]):
        self.out_dir = Path(out_dir)
        self.keys = list(keys)

    def paths(self, name: str) -> Dict[str, Path]:
        """Returns {what: path} of every file written for the image `name`."""
        paths = {}
        for key in self.keys:
            base = self.out_dir if len(self.keys) == 1 else self.out_dir / key
            paths[f"{key} overlay"] = base / "overlay" / f"{name}.png"
            paths[f"{key} labelIds"] = base / "labelIds" / f"{name}.png"
        if len(self.keys) == 2:
            paths["compare"] = self.out_dir / "compare" / f"{name}.png"
        return paths

    def done(self, name: str) -> bool:
        """Returns whether every output of `name` exists (a rerun then skips it)."""
        return all(path.is_file() for path in self.paths(name).values())

    def write(self, name: str, rgb: np.ndarray, predictions: Dict[str, torch.Tensor]) -> List[Path]:
        """Writes the outputs of one image from its trainId maps {key: (H, W)}; returns them."""
        paths = self.paths(name)
        written = []
        for key in self.keys:
            train_ids = predictions[key].cpu().numpy().astype(np.uint8)
            written.append(write_png(paths[f"{key} labelIds"], train_ids_to_label_ids(train_ids)))
            written.append(write_png(paths[f"{key} overlay"], overlay(rgb, train_ids)))
        if "compare" in paths:
            canvas, _ = pair_figure(rgb, predictions[self.keys[0]], predictions[self.keys[1]],
                                    name=name)
            written.append(write_png(paths["compare"], canvas))
        return written
