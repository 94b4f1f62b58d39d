"""Time tools/compare.py's bootstrap at Cityscapes scale; print its coverage measured by simulation.

    python tools/benchmark_compare.py [--images 500] [--runs 3 3] [--resamples 2000]
        [--coverage TRIALS]

The timing uses the columns of a full evaluation (3 modes x 6 leave-out proportions, image-border
bands for every mode and tile-border bands for the tiled ones: 48 columns) and 19 classes; run it
with OMP_NUM_THREADS=1 for one core. --coverage also prints, for several spreads of seeds and
images, the share of simulated null comparisons whose 95% interval holds 0.
"""

import argparse
import sys
import time

import numpy as np

from seg.evaluation.bootstrap import bootstrap_groups, percentile_interval
from seg.evaluation.simulate import coverage, simulate_groups
from seg.utils.errors import run_cli

COLUMNS = (
    3 * 6 + 3 * 6 + 2 * 6
)  # leave-out per mode, image-border bands per mode, tile-border bands per tiled mode
SCENARIOS = [  # (runs per group, spreads of the simulated ratios)
    ((1, 1), dict(image_sd=0.05)),
    ((3, 3), dict(image_sd=0.05, seed_sd=0.002)),
    ((3, 3), dict(image_sd=0.03, seed_sd=0.005, noise_sd=0.01)),
    ((3, 3), dict(image_sd=0.0, seed_sd=0.01)),
    ((5, 5), dict(image_sd=0.0, seed_sd=0.01)),
    ((10, 10), dict(image_sd=0.0, seed_sd=0.01)),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--runs", type=int, nargs=2, default=(3, 3))
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed repetitions; the median is printed"
    )
    parser.add_argument(
        "--coverage", type=int, metavar="TRIALS", help="also simulate TRIALS null comparisons each"
    )
    args = parser.parse_args(argv)
    groups = simulate_groups(
        np.random.default_rng(0),
        runs=tuple(args.runs),
        images=args.images,
        columns=COLUMNS,
        classes=19,
    )
    times = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        a, b = bootstrap_groups(groups, resamples=args.resamples, seed=repeat)
        percentile_interval(b.resampled - a.resampled)
        percentile_interval(b.class_resampled - a.class_resampled)
        times.append(time.perf_counter() - start)
    print(
        f"bootstrap of {args.images} images x {sum(args.runs)} runs x {COLUMNS} columns x 19 "
        f"classes, "
        f"{args.resamples} resamples: median {np.median(times):.2f} s over {args.repeats} "
        f"repetitions "
        f"(min {min(times):.2f} s)"
    )
    if args.coverage:
        print(
            f"\ncoverage of the 95% interval under the null, {args.coverage} trials of 100 images "
            f"each:"
        )
        for runs, spread in SCENARIOS:
            holds, _ = coverage(args.coverage, runs=runs, images=100, seed=1, **spread)
            print(
                f"  runs {runs[0]}+{runs[1]}, "
                + ", ".join(f"{k} {v}" for k, v in spread.items())
                + f": {100 * holds:.1f}%"
            )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
