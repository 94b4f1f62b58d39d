"""How much a padded mixed-size batch moves each image's prediction, zero vs partial padding.

    python tools/batch_invariance.py [--model deeplabv3plus_small | --checkpoint CKPT]
        [--sizes 256x512 192x320 200x300 256x384] [--seed 0]

The images (random, seeded) run together, each in the top-left corner of one batch with a
`valid` mask, and one by one; printed per image: the largest logit difference (relative to
the largest logit) and the share of pixels whose class is the same. With --checkpoint the same
weights run with both paddings (the other one is a cross test, as tools/evaluate.py --padding).
"""
import argparse
import sys

import torch

from seg.inference import batch_invariance, load_predictor
from seg.inference.export_check import parse_size
from seg.layers import padding_mode
from seg.models import MODEL_NAMES, build_model
from seg.utils.errors import run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", default="deeplabv3plus_small", choices=MODEL_NAMES,
                       help="random weights, BatchNorm statistics drawn as after training")
    which.add_argument("--checkpoint", help="trained weights instead")
    parser.add_argument("--sizes", nargs="+", type=parse_size, metavar="HxW",
                        default=[(256, 512), (192, 320), (200, 300), (256, 384)])
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def random_model(name, seed):
    """Returns the model with random weights and BatchNorm statistics as after training."""
    torch.manual_seed(seed)
    model = build_model(name)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def main(argv=None):
    args = parse_args(argv)
    if args.checkpoint:
        model, what = load_predictor(args.checkpoint).model, args.checkpoint
    else:
        model, what = random_model(args.model, args.seed), f"{args.model}, random weights"
    print(f"{what}; batch of {' '.join(f'{h}x{w}' for h, w in args.sizes)}, images top-left")
    print("padding | image | largest logit change, relative | pixels whose class stays")
    for padding in ("partial", "zeros"):
        with padding_mode(model, padding):
            for row in batch_invariance(model, args.sizes, seed=args.seed):
                h, w = row["size"]
                print(f"{padding:7s} | {h}x{w} | {row['max_abs'] / row['scale']:.2e} | "
                      f"{100 * row['agreement']:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
