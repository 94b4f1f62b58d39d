"""Images/s of one mixed-size padded batch vs the same images one by one (partial padding).

    python tools/benchmark_padded_batch.py [--model deeplabv3plus_small]
        [--sizes 256x512 240x320 200x300 256x384] [--repeats 5] [--threads 1] [--device cpu]

Random weights and images; both variants give each image the same logits. Prints images/s of
each and the speed ratio with its interquartile range over interleaved repetitions.
"""
import argparse
import sys

import torch

from seg.inference.export_check import parse_size
from seg.inference.speed import padded_batch_speed
from seg.models import MODEL_NAMES, build_model
from seg.utils.errors import run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="deeplabv3plus_small", choices=MODEL_NAMES)
    parser.add_argument("--sizes", nargs="+", type=parse_size, metavar="HxW",
                        default=[(256, 512), (240, 320), (200, 300), (256, 384)])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (CPU)")
    parser.add_argument("--device", default="cpu")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(args.model, padding="partial")
    result = padded_batch_speed(model, args.sizes, repeats=args.repeats, device=args.device)
    sizes = " ".join(f"{h}x{w}" for h, w in args.sizes)
    print(f"{args.model}, partial padding, {args.device}, {args.threads} thread(s), "
          f"images {sizes} (real pixels {100 * result['real_fraction']:.0f}% of the batch)")
    for name, rate in result["images_per_second"].items():
        print(f"  {name:13s} {rate:8.2f} images/s")
    gain, iqr = result["batch_vs_alone"]
    print(f"  padded batch vs one by one: {100 * gain:+.1f}% speed (IQR {100 * iqr:.1f} points, "
          f"{args.repeats} interleaved repetitions)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
