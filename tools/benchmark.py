"""Times partial padding against zero padding in CPU inference and prints a Markdown table.

    python tools/benchmark.py              # resnet50 and vgg16_bn, 224x224, batch 1 and 8
    python tools/benchmark.py --quick      # fewer repetitions, under 2 minutes
    python tools/benchmark.py --json out.json

Each model is built once and switched between modes with set_padding, so both modes run the
same weights in the same memory. Every repetition times, in alternating order:
  zero     one forward with zero padding,
  partial  one forward with partial padding, ratio cache warm (steady state),
  first    one forward with partial padding right after clear_ratio_cache(): every ratio is
           computed, as in a fresh process or at a new input size (the paper's "1st iteration").
  zero2    zero padding again: the A/A control. Its overhead is pure measurement noise, so a
           partial overhead inside the control's spread is not distinguishable from 0.
The overhead is the median over repetitions of partial/zero (first/zero, zero2/zero) within a
repetition, so slow drifts of a shared machine cancel out; the order rotates every repetition.
"""
import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from any directory

from seg.layers import clear_ratio_cache, set_padding  # noqa: E402

# name -> builder of an nn.Module taking (N, 3, H, W); later issues add segmentation models here.
MODELS = {
    "resnet50": lambda: torchvision.models.resnet50(weights=None),
    "vgg16_bn": lambda: torchvision.models.vgg16_bn(weights=None),
}


@dataclass
class Case:
    model: str
    batch: int
    height: int = 224
    width: int = 224


@dataclass
class Row:
    model: str
    batch: int
    size: str
    zero_ms: float
    partial_ms: float
    first_ms: float
    steady_overhead: float  # median over repetitions of partial/zero - 1
    first_overhead: float  # median of first/zero - 1
    control_overhead: float  # median of zero2/zero - 1: the noise floor
    steady_iqr: float  # interquartile range of partial/zero
    first_iqr: float
    control_iqr: float
    repeats: int


# wall: elapsed time. process: CPU time of this process, which other jobs on a shared machine do
# not inflate (use it with --threads 1: idle-waiting worker threads would count too).
CLOCKS = {"wall": time.perf_counter, "process": time.process_time}


def timed(model, x, clock) -> float:
    """Returns the seconds one forward takes on clock."""
    start = clock()
    model(x)
    return clock() - start


def measure(model, x, repeats: int, warmup: int, clock=time.perf_counter) -> dict:
    """Returns per-mode lists of seconds from interleaved repetitions."""
    def run(mode):
        if mode == "first":
            clear_ratio_cache()
        set_padding(model, "partial" if mode in ("first", "partial") else "zeros")
        return timed(model, x, clock)

    modes = ["zero", "first", "partial", "zero2"]
    for _ in range(warmup):
        for mode in modes:
            run(mode)
    times = {mode: [] for mode in modes}
    for rep in range(repeats):
        # Rotate the order; "partial" always finds the cache warm (only "first" clears it).
        for mode in modes[rep % 4:] + modes[:rep % 4]:
            times[mode].append(run(mode))
    return times


def spread(values) -> tuple:
    """Returns (median, interquartile range) of values."""
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q2, q3 - q1


def benchmark_case(case: Case, repeats: int, warmup: int, clock=time.perf_counter) -> Row:
    """Returns the timing Row of one model, batch and input size."""
    torch.manual_seed(0)
    model = MODELS[case.model]().eval()
    x = torch.randn(case.batch, 3, case.height, case.width)
    with torch.inference_mode():
        times = measure(model, x, repeats, warmup, clock)
    ms = {mode: 1e3 * statistics.median(values) for mode, values in times.items()}
    ratios = {mode: spread([t / z for t, z in zip(times[mode], times["zero"])])
              for mode in ("partial", "first", "zero2")}
    return Row(case.model, case.batch, f"{case.height}x{case.width}", ms["zero"], ms["partial"],
               ms["first"], ratios["partial"][0] - 1, ratios["first"][0] - 1,
               ratios["zero2"][0] - 1, ratios["partial"][1], ratios["first"][1],
               ratios["zero2"][1], repeats)


def markdown(rows) -> str:
    """Returns the rows as a Markdown table (overheads: median, with the IQR in brackets)."""
    lines = ["| model | batch | input | zero (ms) | partial (ms) | steady overhead "
             "| 1st iter (ms) | 1st-iter overhead | A/A control |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]

    def pct(median, iqr):
        return f"{100 * median:+.2f}% ({100 * iqr:.1f})"

    for r in rows:
        lines.append(f"| {r.model} | {r.batch} | {r.size} | {r.zero_ms:.1f} | {r.partial_ms:.1f} "
                     f"| {pct(r.steady_overhead, r.steady_iqr)} | {r.first_ms:.1f} "
                     f"| {pct(r.first_overhead, r.first_iqr)} "
                     f"| {pct(r.control_overhead, r.control_iqr)} |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--size", nargs=2, type=int, default=[224, 224], metavar=("H", "W"))
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repetitions per case (default 21, 5 with --quick)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall",
                        help="wall time, or process CPU time for a machine shared with other jobs")
    parser.add_argument("--quick", action="store_true", help="few repetitions: under 2 minutes")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    repeats = args.repeats or (5 if args.quick else 21)
    warmup = 1 if args.quick else 3
    cases = [Case(m, b, *args.size) for m in args.models for b in args.batches]
    rows = []
    for case in cases:
        rows.append(benchmark_case(case, repeats, warmup, CLOCKS[args.clock]))
        print(f"done {case.model} batch {case.batch}", file=sys.stderr, flush=True)
    print(f"CPU inference, torch {torch.__version__}, {args.threads} thread(s), "
          f"{platform.machine()}, {args.clock} clock, median of {repeats} interleaved repetitions "
          "(interquartile range in brackets, percentage points)")
    print(markdown(rows))
    if args.json:
        meta = {"torch": torch.__version__, "threads": args.threads, "repeats": repeats,
                "clock": args.clock, "command": " ".join(sys.argv)}
        args.json.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]},
                                        indent=2))


if __name__ == "__main__":
    main()
