"""Prints the cost of mask propagation over partial-padding mode for one model on CPU.

  .venv/bin/python tools/benchmark_mask_propagation.py --model deeplabv3plus_resnet50 \
      --size 512 1024 --real 448 896 --repeats 5 --threads 2
"""
import argparse
import sys

import torch

from seg.models import MODEL_NAMES, build_model
from seg.models.mask_overhead import mask_propagation_overhead, padded_valid
from seg.utils.errors import run_cli


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="deeplabv3plus_resnet50", choices=MODEL_NAMES)
    parser.add_argument("--size", type=int, nargs=2, default=(512, 1024), help="input H W")
    parser.add_argument("--real", type=int, nargs=2, default=(448, 896),
                        help="real region H W of the padded image (top-left)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(args.model, padding="partial")
    images = torch.randn(args.batch, 3, *args.size)
    valid = padded_valid(args.batch, *args.size, *args.real)
    result = mask_propagation_overhead(model, images, valid, args.repeats)
    print(f"{args.model} {args.batch}x3x{args.size[0]}x{args.size[1]}, real {args.real[0]}x"
          f"{args.real[1]}, {args.threads} threads, median of {args.repeats}: padding "
          f"{result['padding_s']:.3f} s, mask propagation {result['valid_s']:.3f} s, "
          f"ratio {result['ratio']:.3f} (CPU time {result['padding_cpu_s']:.3f} s vs "
          f"{result['valid_cpu_s']:.3f} s, ratio {result['cpu_ratio']:.3f})")


if __name__ == "__main__":
    sys.exit(run_cli(main))
