"""What padding does inside a network: shift consistency, position probe, border activations and
padding invariance, per padding mode on the same weights, each as a Markdown table and a plot.

    python tools/diagnose.py --checkpoint checkpoints/demo/runs/zero/last.pth --out diag/zero
    python tools/diagnose.py --checkpoint RUN/last.pth --paddings all --out diag/all
    python tools/diagnose.py --torchvision resnet18 --paddings zeros partial --out diag/r18
    python tools/diagnose.py --timm resnet10t --paddings zeros symmetric --out diag/timm

A checkpoint is one of tools/train.py (segmentation) or tools/train_classifier.py; torchvision
and timm models are built with random weights. --paddings stored (default) runs the checkpoint's
own mode, `all` every mode of seg.layers.PADDING_MODES.
"""
import argparse
import sys
import time

import torch

from seg.classification.checkpoint import load_classifier
from seg.classification.models import build_classifier
from seg.diagnostics.inputs import load_images, synthetic_images
from seg.diagnostics.run import DIAGNOSTICS, run_diagnostics, write_report
from seg.engine.checkpoint import load_checkpoint
from seg.engine.segmentation import load_model
from seg.layers import PADDING_MODES, get_padding_mode
from seg.models import MODEL_NAMES
from seg.utils.errors import UserError, run_cli

try:
    import timm
except ImportError:  # optional: pip install partial-padding-seg[timm]
    timm = None


def build(args):
    """Returns (model in eval mode, its stored padding mode, a one-line description)."""
    if args.checkpoint:
        try:
            config = load_checkpoint(args.checkpoint).get("config") or {}
            name = (config.get("model") or {}).get("name")
            if name in MODEL_NAMES:
                model, _ = load_model(args.checkpoint)
            else:
                model, _ = load_classifier(args.checkpoint)
        except (FileNotFoundError, KeyError) as error:
            raise UserError(str(error).strip("'\"")) from None
        return model, get_padding_mode(model), f"checkpoint {args.checkpoint} ({name})"
    if args.torchvision:
        try:
            model = build_classifier(args.torchvision, padding="zeros")
        except ValueError as error:
            raise UserError(str(error)) from None
        return model.eval(), "zeros", f"torchvision {args.torchvision} (random weights)"
    if timm is None:
        raise UserError("--timm needs timm: pip install 'partial-padding-seg[timm]' (or timm)")
    if args.timm not in timm.list_models():
        raise UserError(f"--timm {args.timm!r} is not a timm model name (timm.list_models())")
    model = timm.create_model(args.timm, pretrained=False).eval()
    return model, get_padding_mode(model), f"timm {args.timm} (random weights)"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="a .pth of tools/train.py or train_classifier.py")
    source.add_argument("--torchvision", help="a torchvision classifier name, random weights")
    source.add_argument("--timm", help="a timm model name, random weights (needs timm)")
    parser.add_argument("--paddings", nargs="+", default=["stored"],
                        help=f"'stored', 'all' or modes from {', '.join(PADDING_MODES)}")
    parser.add_argument("--diagnostics", nargs="+", default=list(DIAGNOSTICS),
                        choices=DIAGNOSTICS)
    parser.add_argument("--images", default="datasets/synthetic/leftImg8bit/val",
                        help="folder of images (searched recursively; sorted)")
    parser.add_argument("--num-images", type=int, default=8,
                        help="images for shift, border and invariance")
    parser.add_argument("--probe-images", type=int, default=16,
                        help="images per input kind (uniform, noise, real) for the probe; "
                             "two thirds train the readout, the rest score it")
    parser.add_argument("--size", type=int, nargs=2, default=[128, 256], metavar=("H", "W"),
                        help="centre crop of each image at its own scale")
    parser.add_argument("--layers", nargs="+", help="modules whose outputs the probe and the "
                        "border profile read (default: the end of each stage)")
    parser.add_argument("--shifts", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--margins", type=int, nargs="+", default=[8, 12])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", required=True, help="new folder for the tables and plots")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    model, stored, description = build(args)
    modes = [stored] if args.paddings == ["stored"] else \
        list(PADDING_MODES) if args.paddings == ["all"] else args.paddings
    bad = [mode for mode in modes if mode not in PADDING_MODES]
    if bad:
        raise UserError(f"--paddings {bad}: use 'stored', 'all' or {', '.join(PADDING_MODES)}")
    if max(args.shifts) >= min(args.size):
        raise UserError(f"--shifts {max(args.shifts)} leaves no overlap at --size {args.size}")
    size = tuple(args.size)
    images = load_images(args.images, args.num_images, size)
    probe = {"uniform": synthetic_images("uniform", args.probe_images, size),
             "noise": synthetic_images("noise", args.probe_images, size, seed=1),
             "real": load_images(args.images, args.probe_images, size)}
    print(f"{description}; stored padding {stored}; modes {', '.join(modes)}; "
          f"{len(images)} images of {size[0]}x{size[1]} from {args.images}", flush=True)
    start = time.perf_counter()
    results = run_diagnostics(model, images, modes=modes, which=args.diagnostics,
                              layers=args.layers, probe_inputs=probe, shifts=args.shifts,
                              margins=args.margins)
    header = (f"{description}, stored padding {stored}; {len(images)} images of "
              f"{size[0]}x{size[1]} from {args.images}; 95% bootstrap intervals over images.\n\n")
    for path in write_report(results, args.out, header=header):
        print(f"saved {path}")
    for name, seconds in results["seconds"].items():
        print(f"{name}: {seconds:.1f} CPU s over {len(modes)} mode(s)")
    print(f"total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
