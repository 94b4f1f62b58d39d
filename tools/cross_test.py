"""Cross testing (paper table 4): evaluate each checkpoint under every padding mode.

    python tools/cross_test.py --checkpoints checkpoints/resnet50_imagenet_*_seed*/best.pth \\
        [--modes zeros partial]

Prints the training-padding x inference-padding top-1 matrix (per checkpoint, and the mean over the
runs of each training padding with its drop against that padding) as Markdown; --json keeps every
number.
"""
import argparse
import json
import pathlib
import sys

import torch

from seg.classification.cross_test import DEFAULT_MODES, cross_test, to_markdown
from seg.layers import PADDING_MODES
from seg.utils.errors import run_cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoints", nargs="+", required=True,
                        help="best.pth / last.pth files of classification runs")
    parser.add_argument("--modes", nargs="+", default=list(DEFAULT_MODES), choices=PADDING_MODES,
                        help="inference paddings (default: %(default)s)")
    parser.add_argument(
        "--data-root", help="ImageFolder root with val/; default: each checkpoint's data.root"
    )
    parser.add_argument("--max-images", type=int, help="evaluate the first N val images only")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    result = cross_test(
        args.checkpoints,
        modes=args.modes,
        data_root=args.data_root,
        device=args.device,
        batch_size=args.batch_size,
        max_images=args.max_images,
        num_workers=args.workers,
        progress=True,
    )
    print(to_markdown(result))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
