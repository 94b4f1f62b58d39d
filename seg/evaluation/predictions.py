"""Prediction PNGs in the official Cityscapes submission format: one 8-bit labelId image per input
image.

Files are named `<city>_<seq>_<frame>_leftImg8bit.png` under `<dir>/<city>/`, which is what
cityscapesscripts' evalPixelLevelSemanticLabeling and the benchmark server search for
(`<city>_<seq>_<frame>*.png`, anywhere below the results folder).
"""
import fnmatch
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from seg.utils.errors import BadValueError, MissingFileError, UnreadableFileError
from seg.utils.labels import LABEL_ID_TO_TRAIN_ID, TRAIN_ID_TO_LABEL_ID


def image_stem(name):
    """Return `<city>_<seq>_<frame>` from a Cityscapes file name or relative path."""
    parts = Path(name).name.split("_")
    if len(parts) < 4:
        raise BadValueError(
            f"{name!r} is not a Cityscapes file name (<city>_<seq>_<frame>_leftImg8bit.png)"
        )
    return "_".join(parts[:3])


def prediction_path(out_dir, name):
    """Return where the submission PNG for input image `name` goes:
    <out_dir>/<city>/<stem>_leftImg8bit.png."""
    stem = image_stem(name)
    return Path(out_dir) / stem.rsplit("_", 2)[0] / f"{stem}_leftImg8bit.png"


def write_prediction(out_dir, name, pred, table=None):
    """Write predicted trainIds (H, W) as a labelId PNG for image `name`; return the file path."""
    table = TRAIN_ID_TO_LABEL_ID if table is None else table
    path = prediction_path(out_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    pred = pred.cpu().numpy() if isinstance(pred, torch.Tensor) else np.asarray(pred)
    Image.fromarray(table[pred.astype(np.uint8)], mode="L").save(path)
    return path


class PredictionFolder:
    """Finds and reads submission PNGs below a folder, the way cityscapesscripts matches them."""

    def __init__(self, root):
        self.root = Path(root)
        if not self.root.is_dir():
            raise MissingFileError(f"prediction folder {self.root} does not exist; "
                                    "write one with tools/evaluate.py --dump-predictions DIR")
        self.files = [
            os.path.join(d, f)
            for d, _, names in os.walk(self.root)
            for f in names
            if f.endswith(".png")
        ]
        self.table = LABEL_ID_TO_TRAIN_ID

    def find(self, name):
        """Return the single PNG matching image `name` (<city>_<seq>_<frame>*.png)."""
        pattern = image_stem(name) + "*.png"
        found = [f for f in self.files if fnmatch.fnmatch(os.path.basename(f), pattern)]
        if len(found) != 1:
            what = (
                "no prediction"
                if not found
                else f"{len(found)} predictions ({', '.join(found[:3])})"
            )
            raise MissingFileError(f"{what} matching {pattern} under {self.root}; "
                                    "expected exactly one labelId PNG per ground-truth image")
        return found[0]

    def read(self, name, size=None):
        """Return predicted trainIds int64 (H, W) for image `name` (labelIds ignored in evaluation
        -> 255)."""
        path = self.find(name)
        try:
            array = np.array(Image.open(path))
        except (
            OSError,
            SyntaxError,
            ValueError,
        ) as err:  # PIL's errors for truncated or non-PNG files
            raise UnreadableFileError(
                f"cannot read prediction {path} ({err}); it is truncated or not a PNG — "
                f"write it again with tools/evaluate.py --dump-predictions"
            ) from None
        if array.ndim != 2:
            raise BadValueError(
                f"{path} has {array.shape[2]} channels; a submission PNG holds one labelId per "
                "pixel"
            )
        if size is not None and tuple(array.shape) != tuple(size):
            raise BadValueError(
                f"{path} is {array.shape[0]}x{array.shape[1]} but its ground truth is "
                f"{size[0]}x{size[1]}"
            )
        return torch.from_numpy(self.table[array.astype(np.uint8)].astype(np.int64))
