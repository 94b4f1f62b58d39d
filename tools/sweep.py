"""Train seeds x paddings of one config, evaluate every run, compare the paddings with intervals.

    python tools/sweep.py CONFIG --seeds 0 1 2 --paddings zeros partial [key=value ...] [--out DIR]
        [--jobs N] [--executor local|slurm|submitit-local] [--nproc G] [--partition P]
        [--timeout-min T]
        [--modes regular tile tile_overlap] [--leave-out 0 1/3 ...] [--tile 1024] [--num-images N]
        [--resamples 2000]

Each run is an ordinary tools/train.py run in <out>/<padding>_seed<seed>/ (resumed if interrupted,
skipped if finished); then tools/evaluate.py on each last.pth; then tools/compare.py's table of
every padding against the first. Run it again after an interruption: it picks up where it stopped.
See docs/comparisons.md.
"""

import argparse
import sys

from seg.engine.sweep import EXECUTORS, run_sweep
from seg.evaluation.tiling import MODE_OVERLAP
from seg.utils.errors import run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", help="YAML recipe in configs/")
    parser.add_argument(
        "overrides", nargs="*", help="key=value for every run, e.g. train.iterations=200"
    )
    parser.add_argument("--seeds", nargs="+", type=int, required=True, help="train.seed values")
    parser.add_argument(
        "--paddings",
        nargs="+",
        required=True,
        help="model.padding values; the first is the reference",
    )
    parser.add_argument("--out", help="grid folder (default: checkpoints/sweeps/<config name>)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local")
    parser.add_argument(
        "--jobs", type=int, default=1, help="local: runs at once, one thread each (default 1)"
    )
    parser.add_argument(
        "--nproc",
        type=int,
        default=0,
        help="processes (GPUs) per run: each run is a torchrun of this many (default 0: plain "
        "python)",
    )
    parser.add_argument("--partition", help="SLURM partition")
    parser.add_argument("--timeout-min", type=int, default=24 * 60, help="SLURM time limit per job")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["regular", "tile", "tile_overlap"],
        choices=list(MODE_OVERLAP),
    )
    parser.add_argument("--leave-out", nargs="+", default=["0", "1/3", "1/2", "2/3", "3/4", "7/8"])
    parser.add_argument("--tile", type=int, default=1024, help="tile side in pixels")
    parser.add_argument("--num-images", type=int, help="evaluate the first N images only")
    parser.add_argument("--eval-device", help="cpu, cuda, ... (default: cuda on SLURM, else cpu)")
    parser.add_argument(
        "--resamples", type=int, default=2000, help="bootstrap resamples of the comparison"
    )
    return parser.parse_intermixed_args(argv)


def main(argv=None):
    args = parse_args(argv)
    eval_args = ["--modes", *args.modes, "--leave-out", *args.leave_out, "--tile", str(args.tile)]
    if args.num_images:
        eval_args += ["--num-images", str(args.num_images)]
    run_sweep(
        args.config,
        seeds=args.seeds,
        paddings=args.paddings,
        overrides=args.overrides,
        out=args.out,
        executor=args.executor,
        jobs=args.jobs,
        nproc=args.nproc,
        partition=args.partition,
        timeout_min=args.timeout_min,
        eval_args=eval_args,
        eval_device=args.eval_device,
        resamples=args.resamples,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
