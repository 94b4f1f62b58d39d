"""The main job end to end on the built-in synthetic Cityscapes: `make demo` (or `make demo
DEMO_FAST=1`).

Runs the same commands a user runs on real Cityscapes, one after the other, and prints each before
it runs: make the synthetic data (if absent) -> a sweep: train the zero and the partial padding
DeepLabV3+ CPU recipe for three seeds each (the two paddings of one seed side by side, one thread
each), evaluate every run (regular, tile, tile with 1/3 overlap, center leave-out, distance to
border) and compare the paddings with 95% bootstrap intervals over seeds and images -> render
comparison images and plots. Every output lands under one folder, named at the end; the
comparison is printed last.
"""
import argparse
import json
import os
import pathlib
import shlex
import subprocess
import sys
import time

from seg.evaluation.report import markdown_report
from seg.utils.errors import run_cli

REPO = pathlib.Path(__file__).resolve().parent.parent

# The full demo: 256x512 images (Cityscapes at 1/4 scale) and the recipe of configs/ as written;
# tiles of 256 so that a tile is square as in the paper's 1024 tiles of 1024x2048 images. The fast
# variant only checks that every step runs and writes its outputs (its models learn nothing).
FULL = dict(data="datasets/synthetic", out="checkpoints/demo",
            make=["--train", "100", "--val", "20", "--extra", "40", "--size", "256", "512"],
            train=[], seeds=["0", "1", "2"], tile="256", num_render="4")
FAST = dict(data="datasets/synthetic_fast", out="checkpoints/demo_fast",
            make=["--train", "6", "--val", "3", "--extra", "2", "--size", "64", "128"],
            train=["train.iterations=4", "train.batch_size=2", "train.log_every=2",
                   "train.checkpoint_every=2", "eval.every=2", "data.crop_size=64"],
            seeds=["0", "1"], tile="64", num_render="2")
# One recipe with model.padding set per run; the zero recipe file differs from it only there
# (tests/test_demo.py checks it).
CONFIG = "configs/deeplabv3plus_small_os8_partial_synthetic.yaml"
PADDINGS = ("zeros", "partial")  # the reference first: differences are partial - zeros
LEAVE_OUT = ("0", "1/3", "1/2", "2/3", "3/4", "7/8")  # paper table 7


# One thread per step unless OMP_NUM_THREADS says otherwise: on cores shared with other jobs, two
# OpenMP threads spend several times the CPU time per training iteration of one thread (they
# spin-wait for each other).
ENV = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}


def run(cmd: list[str]) -> None:
    """Runs one step in the repository root and stops the demo if it fails."""
    print(f"\n$ {shlex.join(cmd)}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=ENV)
    if done.returncode != 0:
        sys.exit(f"demo: step failed with exit code {done.returncode}: {shlex.join(cmd)}")
    print(f"[{time.perf_counter() - start:.0f} s]", flush=True)


def write_tables(out: pathlib.Path, seeds: list[str]) -> list[str]:
    """Writes every run's evaluation to evaluation.json, the first seed's tables to evaluation.md;
    returns the first seed's checkpoints."""
    runs = []
    for seed in seeds:
        for padding in PADDINGS:
            run = json.loads((out / f"{padding}_seed{seed}" / "last_eval.json").read_text())
            runs.append({**run, "name": f"{padding}_seed{seed}"})
    (out / "evaluation.json").write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    (out / "evaluation.md").write_text(markdown_report(runs[:len(PADDINGS)]))
    print(f"saved {out / 'evaluation.json'} (every run) and {out / 'evaluation.md'} "
          f"(seed {seeds[0]}'s tables)")
    return [str(out / f"{padding}_seed{seeds[0]}" / "last.pth") for padding in PADDINGS]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--fast", action="store_true", help="tiny data and a few iterations: checks every step runs"
    )
    parser.add_argument(
        "--out", help="folder for every output (default: checkpoints/demo or checkpoints/demo_fast)"
    )
    parser.add_argument("--data", help="synthetic Cityscapes folder, made if absent "
                                       "(default: datasets/synthetic or datasets/synthetic_fast)")
    args = parser.parse_args(argv)
    recipe = FAST if args.fast else FULL
    out = pathlib.Path(args.out or recipe["out"]).resolve()
    data = str(pathlib.Path(args.data or recipe["data"]).resolve())
    py = sys.executable
    start = time.perf_counter()

    if not (pathlib.Path(data) / "leftImg8bit").is_dir():
        run([py, "datasets/make_synthetic.py", "--out", data, *recipe["make"], "--seed", "0"])
    else:
        print(f"synthetic Cityscapes already in {data}/ (delete it to regenerate)")

    # The sweep resumes interrupted runs and skips finished ones: a demo stopped with Ctrl-C
    # continues where it stopped when started again. It evaluates last.pth, not best.pth: best.pth
    # is chosen on the same val split the tables report.
    run([py, "tools/sweep.py", CONFIG, f"data.root={data}", *recipe["train"],
         "--seeds", *recipe["seeds"], "--paddings", *PADDINGS, "--out", str(out), "--jobs", "2",
         "--modes", "regular", "tile", "tile_overlap", "--leave-out", *LEAVE_OUT,
         "--tile", recipe["tile"]])
    checkpoints = write_tables(out, recipe["seeds"])
    for mode in ("tile", "regular"):  # tile borders (paper figure 8), then the image border alone
        run([py, "tools/render.py", "compare", "--checkpoints", *checkpoints, "--data-root", data,
             "--mode", mode, "--tile", recipe["tile"], "--pick", "border-diff",
             "--num", recipe["num_render"], "--out", str(out / "compare" / mode)])
    run([py, "tools/render.py", "plots", "--eval", str(out / "evaluation.json"),
         "--compare", str(out / "comparison.json"),
         "--logs", *[str(pathlib.Path(c).parent) for c in checkpoints],
         "--out", str(out / "plots")])

    print(f"\n{(out / 'comparison.md').read_text()}")
    print(f"demo finished in {(time.perf_counter() - start) / 60:.1f} min; everything it made is "
          f"under {out}/:")
    for path in sorted(p for p in out.rglob("*")
                       if p.is_file() and p.suffix in (".png", ".json", ".md", ".pth")):
        print(f"  {path.relative_to(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
