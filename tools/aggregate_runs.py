"""The paper's tables 2 (best top-1) and 3 (mean of the last 5 epochs) from classification run
folders.

    python tools/aggregate_runs.py checkpoints/resnet50_imagenet_*_seed* [--json tables.json]
        [--stdev population]

Rows are (architecture, padding), columns the runs (ordered by seed), then average, diff against
the zero-padding row of the same architecture, and standard deviation (sample, n - 1, by default).
Beside them: the last model's top-1 per padding with a 95% interval of the difference to zero
padding over val images and seeds (from each run's val_per_image.npz; docs/comparisons.md).
"""
import argparse
import pathlib
import sys

from seg.classification.aggregate import aggregate_tables, tables_to_json, to_markdown
from seg.classification.intervals import intervals_markdown, top1_intervals
from seg.classification.runs import read_run
from seg.utils.errors import run_cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "run_dirs", nargs="+", help="run folders written by tools/train_classifier.py"
    )
    parser.add_argument(
        "--json", help="also write both tables (with every number unrounded) to this file"
    )
    parser.add_argument("--markdown", help="also write the Markdown tables to this file")
    parser.add_argument("--stdev", choices=("sample", "population"), default="sample")
    parser.add_argument(
        "--resamples", type=int, default=2000, help="bootstrap resamples of the intervals"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap draws")
    args = parser.parse_args(argv)
    try:
        runs = [read_run(d) for d in args.run_dirs]
    except (FileNotFoundError, ValueError) as err:
        parser.exit(2, f"error: {err}\n")
    tables = aggregate_tables(runs, stdev=args.stdev)
    text = "\n\n".join(
        [
            "Table 2: best top-1 (%) of each run, 1-crop",
            to_markdown(tables["best"]),
            "Table 3: mean top-1 (%) of the last 5 epochs of each run, 1-crop",
            to_markdown(tables["last5_avg"]),
        ]
    )
    intervals = top1_intervals(runs, resamples=args.resamples, seed=args.seed)
    tables["top1_intervals"] = intervals
    if intervals:
        text += ("\n\nTop-1 (%) of each run's last.pth, difference to zero padding with its "
                 "interval\n\n" + intervals_markdown(intervals, args.resamples))
    print(text)
    if args.markdown:
        pathlib.Path(args.markdown).write_text(text + "\n")
    if args.json:
        pathlib.Path(args.json).write_text(tables_to_json(tables) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
