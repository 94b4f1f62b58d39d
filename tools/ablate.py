"""Ablation sweeps: which factor of a recipe carries the gap between two paddings.

    python tools/ablate.py configs/ablations/synthetic_gap.yaml [key=value ...] [--out DIR]
        [--jobs N] [--executor local|slurm|submitit-local] [--nproc G] [--partition P]
        [--resamples 2000]

Each arm of the ablation file is a sweep of tools/sweep.py (seeds x both paddings, resumed and
skipped like any sweep) in <out>/<arm>/; then the share of padding in each arm's training crops,
each arm's gap with its change from the base arm (95% intervals from one bootstrap over seeds and
images), and the position probe of the probed arms' models. Writes <out>/ablation.{md,json} and
prints the report. key=value overrides go to every run. See docs/ablations.md.
"""

import argparse
import sys
from pathlib import Path

from seg.diagnostics.ablation import load_ablation, run_ablation
from seg.diagnostics.ablation_report import ablation_markdown
from seg.engine.sweep import EXECUTORS
from seg.evaluation.comparison import check_resamples
from seg.utils.errors import run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ablation", help="YAML file in configs/ablations/")
    parser.add_argument("overrides", nargs="*", help="key=value for every run of every arm")
    parser.add_argument("--out", help="folder of the arms and the report "
                                      "(default: checkpoints/ablations/<file name>)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local")
    parser.add_argument("--jobs", type=int, default=1,
                        help="local: runs at once, one thread each (default 1)")
    parser.add_argument("--nproc", type=int, default=0,
                        help="processes (GPUs) per run, each run a torchrun (default 0)")
    parser.add_argument("--partition", help="SLURM partition")
    parser.add_argument("--timeout-min", type=int, default=24 * 60)
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    return parser.parse_intermixed_args(argv)


def main(argv=None):
    args = parse_args(argv)
    check_resamples(args.resamples)
    ablation = load_ablation(args.ablation, args.overrides)
    out = args.out or f"checkpoints/ablations/{Path(args.ablation).stem}"
    result = run_ablation(ablation, out, jobs=args.jobs, executor=args.executor,
                          nproc=args.nproc, partition=args.partition,
                          timeout_min=args.timeout_min, resamples=args.resamples)
    print("\n" + ablation_markdown(result))
    print(f"saved {out}/ablation.md and {out}/ablation.json")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
