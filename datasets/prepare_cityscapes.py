"""Write *_labelTrainIds.png next to every *_labelIds.png (gtFine and gtCoarse); originals are kept.

    python datasets/prepare_cityscapes.py [--data-root ROOT]

Optional: the dataset maps labelIds on the fly, but reading prepared files skips that step.
"""
import argparse
import sys

import cv2
from tqdm import tqdm

from seg.data.cityscapes import read_label
from seg.data.root import resolve_data_root


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-root",
        help="Cityscapes root (default: $CITYSCAPES_DATASET, else datasets/cityscapes)",
    )
    root = resolve_data_root(parser.parse_args(argv).data_root)
    files = sorted(root.glob("gt*/*/*/*_labelIds.png"))
    if not files:
        sys.exit(f"no gtFine/gtCoarse *_labelIds.png under {root}; see datasets/README.md")
    for path in tqdm(files, desc="labelTrainIds"):
        target = path.with_name(path.name.replace("_labelIds.png", "_labelTrainIds.png"))
        if not cv2.imwrite(str(target), read_label(path)):
            sys.exit(f"could not write {target}")
    print(f"wrote {len(files)} *_labelTrainIds.png under {root}")


if __name__ == "__main__":
    main()
