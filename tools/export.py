"""Export a checkpoint for deployment: ONNX (dynamic height and width) and a torch.export program.

    python tools/export.py --checkpoint CKPT --out DIR [--padding MODE] [--format onnx export]
        [--check 64x96 50x70 97x131]

Writes DIR/<stem>.onnx (input 'images' (N, 3, H, W) ImageNet-normalised, output 'logits') and
DIR/<stem>.pt2 (torch.export.load). --check runs the ONNX model (onnxruntime) and the program
at the given sizes and prints their largest logit difference from PyTorch. ONNX needs the
'export' extra (pip install -e '.[export]').
"""
import argparse
import sys
from pathlib import Path

from seg.inference import load_predictor
from seg.inference.export import save_onnx, save_program, trace
from seg.inference.export_check import onnx_differences, parse_size, program_differences
from seg.layers import PADDING_MODES
from seg.utils.errors import run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--padding", choices=PADDING_MODES,
                        help="override the checkpoint's padding")
    parser.add_argument("--format", nargs="+", default=["onnx", "export"],
                        choices=["onnx", "export"])
    parser.add_argument("--check", nargs="*", type=parse_size, default=[],
                        metavar="HxW", help="sizes at which to compare the exports with PyTorch")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    predictor = load_predictor(args.checkpoint, padding=args.padding)
    suffix = f"_{args.padding}" if args.padding else ""
    stem = Path(args.out) / (Path(args.checkpoint).stem + suffix)
    # At 1x the stride the traced graph specialises the size: the smallest side is 2x.
    program = trace(predictor.model, min_side=2 * predictor.output_stride)
    if "export" in args.format:
        path = save_program(program, stem.with_suffix(".pt2"))
        report(path, "torch.export", program_differences(predictor.model, path, args.check))
    if "onnx" in args.format:
        path = save_onnx(program, stem.with_suffix(".onnx"))
        report(path, "onnxruntime", onnx_differences(predictor.model, path, args.check))
    return 0


def report(path, runtime, rows):
    print(f"wrote {path}")
    for (height, width), difference in rows:
        print(f"{runtime} vs PyTorch at {height}x{width}: max |logit difference| "
              f"{difference:.2e}")


if __name__ == "__main__":
    sys.exit(run_cli(main))
