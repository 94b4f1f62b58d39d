"""Benchmarks partial padding: the paper's Table 1, the mask-conv baseline, training cost.

    python tools/benchmark.py                 # full run: see --help for the sizes
    python tools/benchmark.py --quick         # small sizes and repetitions, a few minutes
    python tools/benchmark.py --json out.json # also write every number
    python tools/benchmark.py --compile       # also time torch.compile'd zero and partial models

Prints Markdown tables: Table 1 (inference, zero vs partial on each ratio path, 1st iteration
and after, with the mask-convolution baseline and mask propagation), the ATen operations
dispatched per forward (seg.benchmark.op_count; machine-independent), training step time and
peak memory, and each overhead against its budget. The timing method is seg.utils.timing:
warm-up, interleaved repetitions in rotating order, medians of within-repetition ratios with
their interquartile range, and an A/A control; torch threads fixed; CUDA events and
synchronisation on a GPU.
"""
import argparse
import json
import platform
import sys
from pathlib import Path

import torch

from seg.benchmark.inference import (
    CLASSIFIERS,
    MODELS,
    SEGMENTERS,
    Case,
    benchmark_inference,
)
from seg.benchmark.op_count import op_count_block
from seg.benchmark.report import (
    op_count_table,
    table1,
    target_rows,
    targets_table,
    training_table,
)
from seg.benchmark.training import benchmark_training
from seg.models import MODEL_NAMES
from seg.utils.errors import run_cli

# What --quick changes, printed with the results so a table never passes for a full run.
QUICK = {"repeats": 3, "warmup": 1, "segmentation_size": (128, 256), "wrn38_size": (64, 128),
         "training_size": (64, 128)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--batch", type=int, default=1, help="inference batch (paper: 1)")
    parser.add_argument("--classifier-size", type=int, nargs=2, default=[224, 224])
    parser.add_argument("--segmentation-size", type=int, nargs=2, default=None,
                        help="default 512 1024 on a CPU, 1024 2048 on a GPU")
    parser.add_argument("--wrn38-size", type=int, nargs=2, default=None,
                        help="WRN38's input if not --segmentation-size (it is ~4x ResNet50's cost)")
    parser.add_argument("--training-model", default="deeplabv3plus_resnet50",
                        choices=list(MODEL_NAMES))
    parser.add_argument("--training-batch", type=int, default=2)
    parser.add_argument("--training-size", type=int, nargs=2, default=None,
                        help="default 256 512 on a CPU, 512 1024 on a GPU")
    parser.add_argument("--no-training", action="store_true")
    parser.add_argument("--repeats", type=int, default=None, help="default 9, 3 with --quick")
    parser.add_argument("--warmup", type=int, default=None, help="default 1 round")
    parser.add_argument("--memory-runs", type=int, default=None,
                        help="fresh processes per training variant for the CPU peak memory, whose "
                             "median is reported (one process's peak moves by a few percent); "
                             "default: --repeats")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--clock", choices=("wall", "process"), default=None,
                        help="default: process CPU time on a CPU (steady on a shared machine; "
                             "use with 1 thread), CUDA events on a GPU")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help=f"smaller and fewer: {QUICK}")
    parser.add_argument("--compile", nargs="?", const="inductor", default=None, metavar="BACKEND",
                        help="also time torch.compile'd zero and partial models (backend "
                             "default inductor)")
    parser.add_argument("--count-training-size", type=int, nargs=2, default=[128, 128],
                        help="input of the training-forward operation counts (batch 2)")
    parser.add_argument("--no-op-counts", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write every number here")
    return parser.parse_args(argv)


def plan(args) -> dict:
    """Returns the resolved settings of the run (what the tables were measured with)."""
    gpu = torch.device(args.device).type == "cuda"
    seg_size = tuple(args.segmentation_size or ((1024, 2048) if gpu else (512, 1024)))
    train_size = tuple(args.training_size or ((512, 1024) if gpu else (256, 512)))
    wrn_size = tuple(args.wrn38_size or seg_size)
    repeats, warmup = args.repeats or 9, args.warmup or 1
    if args.quick:
        repeats, warmup = args.repeats or QUICK["repeats"], args.warmup or QUICK["warmup"]
        seg_size = tuple(args.segmentation_size or QUICK["segmentation_size"])
        wrn_size = tuple(args.wrn38_size or args.segmentation_size or QUICK["wrn38_size"])
        train_size = tuple(args.training_size or QUICK["training_size"])
    sizes = {name: tuple(args.classifier_size) for name in CLASSIFIERS}
    sizes.update({name: seg_size for name in SEGMENTERS})
    sizes["deeplabv3plus_wrn38"] = wrn_size
    return {"device": args.device, "threads": args.threads, "repeats": repeats, "warmup": warmup,
            "clock": args.clock or ("wall" if gpu else "process"), "quick": args.quick,
            "compile": args.compile,
            "op_counts": None if args.no_op_counts else {
                "training_input": [2, 3, *args.count_training_size]},
            "cases": [vars(Case(m, args.batch, *sizes[m])) for m in args.models],
            "training": None if args.no_training else {
                "model": args.training_model, "batch": args.training_batch,
                "size": train_size, "memory_runs": args.memory_runs or repeats}}


def header(settings) -> str:
    """Returns the line that says how the tables were measured."""
    quick = f"; --quick: {QUICK}" if settings["quick"] else ""
    return (f"{settings['device']} ({platform.machine()}, {platform.processor() or 'cpu'}), "
            f"torch {torch.__version__}, {settings['threads']} thread(s), {settings['clock']} "
            f"clock, {settings['warmup']} warm-up round(s), median of {settings['repeats']} "
            f"interleaved repetitions, IQR of the within-repetition ratio in percentage points"
            f"{quick}")


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = plan(args)
    device = torch.device(settings["device"])
    timing = dict(repeats=settings["repeats"], warmup=settings["warmup"],
                  clock=settings["clock"], device=device)
    blocks, counts = [], []
    for case in settings["cases"]:
        blocks.append(benchmark_inference(Case(**case), compile_backend=settings["compile"],
                                          **timing))
        print(f"done {case['model']}", file=sys.stderr, flush=True)
        if settings["op_counts"]:
            shape = (case["batch"], 3, case["height"], case["width"])
            counts.append(op_count_block(case["model"], shape,
                                         settings["op_counts"]["training_input"], device))
            print(f"counted {case['model']}", file=sys.stderr, flush=True)
    training = None
    if settings["training"]:
        t = settings["training"]
        training = benchmark_training(t["model"], t["batch"], *t["size"], threads=args.threads,
                                      memory_runs=t["memory_runs"], **timing)
        print("done training", file=sys.stderr, flush=True)
    targets = target_rows(blocks, training)
    print(header(settings) + "\n")
    print(table1(blocks) + "\n")
    if counts:
        print("ATen operations dispatched per forward (after a warm-up; inference under "
              "inference_mode, training in train mode with autograd):\n")
        print(op_count_table(counts) + "\n")
    if training:
        print(training_table(training) + "\n")
    print(targets_table(targets))
    if args.json:
        args.json.write_text(json.dumps({"settings": settings, "command": " ".join(sys.argv),
                                         "table1": blocks, "op_counts": counts,
                                         "training": training,
                                         "targets": targets}, indent=2))


if __name__ == "__main__":
    sys.exit(run_cli(main))
