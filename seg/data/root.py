"""Where the Cityscapes tree lives: --data-root, else $CITYSCAPES_DATASET, else
datasets/cityscapes."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_ROOT = REPO_ROOT / "datasets" / "cityscapes"

EXPECTED_TREE = """\
<root>/
  leftImg8bit/{train,val,test,train_extra}/<city>/<city>_<seq:06d>_<frame:06d>_leftImg8bit.png
  gtFine/{train,val,test}/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png
      (+ optional *_gtFine_labelTrainIds.png)
  gtCoarse/{train,val,train_extra}/<city>/<city>_<seq>_<frame>_gtCoarse_labelIds.png
      (only for coarse=True)
See datasets/README.md to download real Cityscapes, or make a synthetic tree:
  python datasets/make_synthetic.py --out datasets/cityscapes"""


def resolve_data_root(data_root: str | os.PathLike | None = None) -> Path:
    """Return the data root: `data_root` if given, else $CITYSCAPES_DATASET, else
    <repo>/datasets/cityscapes.

    The default is relative to the repository, not the working directory, so tools run from
    anywhere. The path is not checked here; the dataset raises a clear error when it is missing.
    """
    if data_root:
        return Path(data_root).expanduser().resolve()
    from_env = os.environ.get("CITYSCAPES_DATASET")  # the variable cityscapesscripts reads too
    if from_env:
        return Path(from_env).expanduser().resolve()
    return DEFAULT_DATA_ROOT
