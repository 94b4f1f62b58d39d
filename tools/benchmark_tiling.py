"""Time regular vs tiled inference on one Cityscapes-sized image and print the cost ratios.

    python tools/benchmark_tiling.py [--model deeplabv3plus_small] [--padding partial]
        [--size 1024 2048] [--tile 1024] [--repeats 3] [--threads N] [--device cpu]
"""
import argparse
import sys

import torch

from seg.evaluation.timing import time_modes
from seg.models import MODEL_NAMES, build_model
from seg.utils.errors import run_cli


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="deeplabv3plus_small", choices=MODEL_NAMES)
    parser.add_argument("--padding", default="partial")
    parser.add_argument("--size", type=int, nargs=2, default=(1024, 2048), metavar=("H", "W"))
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(args.model, padding=args.padding).to(args.device)
    image = torch.randn(1, 3, *args.size, device=args.device)
    seconds = time_modes(model, image, tile=args.tile, repeats=args.repeats)
    for mode, s in seconds.items():
        print(f"{mode:>13}: {s:.3f} s  ({s / seconds['regular']:.2f}x regular)")
    return seconds


if __name__ == "__main__":
    sys.exit(run_cli(main))
