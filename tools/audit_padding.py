"""Lists the layers of a model that pad unevenly at an input size, and the largest partial ratio.

    python tools/audit_padding.py --model resnet50 --size 1024 2048
    python tools/audit_padding.py --model deeplabv3plus_resnet50 --size 1024 2048 --all
"""
import argparse
import sys

import torch
import torchvision

from seg.layers.audit import audit_padding
from seg.models import MODEL_NAMES, build_model
from seg.utils.errors import run_cli


def build(name: str):
    """Returns the model `name`: one of seg.models.MODEL_NAMES or a torchvision classifier."""
    if name in MODEL_NAMES:
        return build_model(name, padding="zeros")
    if name in torchvision.models.list_models(module=torchvision.models):
        return torchvision.models.get_model(name, weights=None)
    raise SystemExit(f"unknown --model {name!r}: use one of {', '.join(MODEL_NAMES)} or a "
                     "torchvision classification model name such as resnet50 or vgg16_bn")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--size", nargs=2, type=int, default=[1024, 2048], metavar=("H", "W"))
    parser.add_argument("--all", action="store_true", help="list even layers too")
    args = parser.parse_args(argv)

    with torch.device("meta"):  # shapes only: no weights in memory, no init
        model = build(args.model)
    layers = audit_padding(model, args.size)
    shown = layers if args.all else [layer for layer in layers if layer.uneven]
    print(f"{args.model} at {args.size[0]}x{args.size[1]}: {sum(l.uneven for l in layers)} of "
          f"{len(layers)} padded layers pad unevenly (bottom/right padding read < top/left)")
    print("| layer | type | input | kernel | stride | padding top,left | read bottom,right "
          "| max partial ratio |")
    print("|---|---|---|---|---|---|---|---:|")
    for l in shown:
        ratio = "-" if l.max_ratio != l.max_ratio else f"{l.max_ratio:.3f}"  # NaN: not a conv
        print(f"| {l.name} | {l.kind} | {l.input_size[0]}x{l.input_size[1]} | "
              f"{l.kernel[0]}x{l.kernel[1]} | {l.stride[0]},{l.stride[1]} | "
              f"{l.padding[0]},{l.padding[1]} | {l.bottom_right[0]},{l.bottom_right[1]} "
              f"| {ratio} |")
    convs = [l for l in layers if l.max_ratio == l.max_ratio]
    if convs:
        top = max(convs, key=lambda l: l.max_ratio)
        print(f"largest ratio: {top.max_ratio:.3f} in {top.name} (corner window of "
              f"{top.kernel[0]}x{top.kernel[1]} kernel)")


if __name__ == "__main__":
    sys.exit(run_cli(main))
