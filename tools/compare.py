"""Compare two groups of evaluated runs: the paper's table 5 with 95% bootstrap intervals.

    python tools/compare.py --a RUN [RUN ...] --b RUN [RUN ...] [--names zero partial]
        [--resamples 2000]
        [--seed 0] [--json OUT] [--markdown OUT]

A RUN is a run folder holding one *_eval.npz, an evaluation JSON of tools/evaluate.py (one run or
{"runs": [...]}) or a per-image .npz. The difference is B - A. See docs/comparisons.md.
"""

import argparse
import sys
from pathlib import Path

from seg.evaluation.comparison import check_resamples, compare, load_group, save_comparison
from seg.evaluation.comparison_report import comparison_markdown
from seg.utils.errors import run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--a",
        nargs="+",
        required=True,
        metavar="RUN",
        help="the reference group (e.g. zero padding)",
    )
    parser.add_argument(
        "--b",
        nargs="+",
        required=True,
        metavar="RUN",
        help="the other group (e.g. partial padding)",
    )
    parser.add_argument(
        "--names", nargs=2, default=("A", "B"), metavar=("A", "B"), help="group names in the tables"
    )
    parser.add_argument(
        "--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the bootstrap draws (same seed, same numbers)"
    )
    parser.add_argument(
        "--json", metavar="OUT", help="write every number (per column and class) to OUT"
    )
    parser.add_argument("--markdown", metavar="OUT", help="write the printed report to OUT")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    check_resamples(args.resamples)
    result = compare(
        load_group(args.names[0], args.a),
        load_group(args.names[1], args.b),
        resamples=args.resamples,
        seed=args.seed,
    )
    text = comparison_markdown(result)
    print(text)
    if args.json:
        print(f"saved {save_comparison(result, args.json)}")
    if args.markdown:
        Path(args.markdown).write_text(text)
        print(f"saved {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
