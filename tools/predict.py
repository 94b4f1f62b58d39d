"""Predict your own images: colour overlays and labelId PNGs, or a zero vs partial comparison.

    python tools/predict.py INPUT --checkpoint CKPT --out DIR
        [--mode regular|tile|tile_overlap] [--tile 1024] [--scales 0.5 1.0 2.0] [--flip]
        [--padding MODE] [--batch-size 4] [--device cpu] [--no-progress] [--debug]
    python tools/predict.py INPUT --checkpoint ZERO PARTIAL --out DIR   (adds OUT/compare/)

INPUT is an image, a folder (searched recursively), a quoted glob ('photos/**/*.jpg') or a
video (one output per frame). A rerun skips images whose outputs exist; unreadable files are
listed at the end and the exit code is 1 if there were any. See docs/prediction.md.
"""
import argparse
import sys

from seg.evaluation.tiling import MODE_OVERLAP
from seg.inference import load_predictor
from seg.inference.outputs import PredictionWriter
from seg.inference.run import check_pair, predict_folder
from seg.inference.sources import find_inputs
from seg.layers import PADDING_MODES
from seg.utils.errors import UserError, run_cli

CITYSCAPES_CLASSES = 19


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", help="image, folder, quoted glob or video")
    parser.add_argument("--checkpoint", nargs="+", required=True, metavar="CKPT",
                        help="one checkpoint, or ZERO PARTIAL for the comparison figure")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--mode", default="regular", choices=list(MODE_OVERLAP))
    parser.add_argument("--tile", type=int, default=1024, help="tile side in pixels (tile modes)")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0],
                        help="test-time scales, logits averaged at the input size")
    parser.add_argument("--flip", action="store_true", help="also average the mirrored images")
    parser.add_argument("--padding", choices=PADDING_MODES,
                        help="override the checkpoint's padding (one checkpoint only)")
    parser.add_argument("--batch-size", type=int, default=4, help="images per forward pass")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if len(args.checkpoint) > 2:
        parser.error("--checkpoint takes one checkpoint, or two (ZERO PARTIAL)")
    if len(args.checkpoint) == 2 and args.padding:
        parser.error("--padding applies to one checkpoint; the comparison uses each one's own")
    if args.batch_size < 1 or args.tile < 1:
        parser.error("--batch-size and --tile must be at least 1")
    return args


def load_predictors(args):
    """Returns {key: Predictor}: {'model': ...} or {'zero': ..., 'partial': ...}."""
    keys = ["model"] if len(args.checkpoint) == 1 else ["zero", "partial"]
    predictors = {key: load_predictor(path, padding=args.padding, device=args.device)
                  for key, path in zip(keys, args.checkpoint)}
    for predictor in predictors.values():
        if predictor.num_classes != CITYSCAPES_CLASSES:
            raise UserError(f"{predictor.name} predicts {predictor.num_classes} classes; the "
                            "overlays and labelIds are Cityscapes' 19 train classes - use the "
                            "seg.inference API for other class sets")
    if len(predictors) == 2:
        check_pair(predictors)
    return predictors


def main(argv=None):
    args = parse_args(argv)
    sources = find_inputs(args.input)
    predictors = load_predictors(args)
    writer = PredictionWriter(args.out, list(predictors))
    summary = predict_folder(sources, predictors, writer, mode=args.mode, tile=args.tile,
                             scales=args.scales, flip=args.flip, batch_size=args.batch_size,
                             progress=not args.no_progress)
    listed = " (listed below)" if summary.failed else ""
    print(f"{summary.written} written, {summary.skipped} already there (skipped), "
          f"{len(summary.failed)} left out{listed} -> {args.out}")
    for path in summary.ignored:
        print(f"ignored (not an image or video): {path}")
    for line in summary.failed:
        print(f"skipped: {line}", file=sys.stderr)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
