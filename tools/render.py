"""Render the paper's pictures: prediction comparisons (figures 6, 8), activation maps (figure 5)
and plots.

    python tools/render.py compare --checkpoints ZERO PARTIAL [--data-root ROOT] [--split val]
        [--fold K] [--mode regular|tile|tile_overlap] [--tile 1024] [--num N | --names NAME ...]
        [--pick border-diff] [--pool M] [--band 64] [--device cpu] --out DIR
    python tools/render.py activations --checkpoints ZERO PARTIAL [--layers NAME ...]
        [--list-layers] [--data-root ROOT] [--split val] [--num N | --names NAME ...] --out DIR
    python tools/render.py plots [--eval JSON ...] [--compare JSON] [--logs RUN_DIR ...] --out DIR
"""
import argparse
import sys
from pathlib import Path

from seg.evaluation.tiling import MODE_OVERLAP
from seg.utils.errors import run_cli
from seg.visualize.picking import PICKS


def add_data_args(parser):
    parser.add_argument("--checkpoints", nargs=2, required=True, metavar=("ZERO", "PARTIAL"),
                        help="the zero padding checkpoint, then the partial padding one")
    parser.add_argument(
        "--data-root",
        help="Cityscapes root (default: $CITYSCAPES_DATASET, else datasets/cityscapes)",
    )
    parser.add_argument("--split", default="val", choices=("train", "val"))
    parser.add_argument("--fold", type=int, default=0, help="18/3 city split")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--num", type=int, default=4, help="the first N images (or N picks with --pick)"
    )
    which.add_argument(
        "--names",
        nargs="+",
        help="images whose name contains one of these, e.g. frankfurt_000000_000294",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", required=True, help="output folder")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser(
        "compare", help="Image | Ground truth | zero | partial, error views, border zoom"
    )
    add_data_args(compare)
    compare.add_argument("--mode", default="regular", choices=list(MODE_OVERLAP))
    compare.add_argument("--tile", type=int, default=1024, help="tile side in pixels (tile modes)")
    compare.add_argument(
        "--pick",
        choices=PICKS,
        help="choose the --num images where the models differ most near borders",
    )
    compare.add_argument(
        "--pool", type=int, help="with --pick: score only the first M images (default all)"
    )
    compare.add_argument(
        "--band", type=int, default=64, help="'near a border' means closer than this many px"
    )
    compare.add_argument(
        "--panel-width", type=int, default=512, help="width of one panel in pixels"
    )
    activations = commands.add_parser(
        "activations", help="channel-summed ReLU activations of both models (figure 5)"
    )
    add_data_args(activations)
    activations.add_argument(
        "--layers", nargs="+", help="module names (default: the last ReLU of each backbone stage)"
    )
    activations.add_argument(
        "--list-layers", action="store_true", help="print the model's ReLU layer names and stop"
    )
    plots = commands.add_parser(
        "plots", help="leave-out and distance plots from evaluation JSONs; training curves"
    )
    plots.add_argument(
        "--eval", nargs="+", default=[], metavar="JSON", help="tools/evaluate.py --json outputs"
    )
    plots.add_argument(
        "--logs",
        nargs="+",
        default=[],
        metavar="RUN",
        help="run folders (checkpoints/<run>) or log.jsonl",
    )
    plots.add_argument(
        "--compare",
        metavar="JSON",
        help="comparison.json of tools/compare.py or tools/sweep.py: group means, 95%% bands",
    )
    plots.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args(argv)
    if args.command == "plots" and not (args.eval or args.logs or args.compare):
        parser.error("plots needs --eval JSON ..., --compare JSON and/or --logs RUN ...")
    return args


def dataset_and_models(args):
    from seg.data import build_eval_dataset, resolve_data_root
    from seg.visualize.selection import load_pair

    models = load_pair(*args.checkpoints, device=args.device)
    return build_eval_dataset(resolve_data_root(args.data_root), args.split, fold=args.fold), models


def run_compare(args):
    from seg.visualize.compare import render_comparisons

    dataset, models = dataset_and_models(args)
    return render_comparisons(
        models,
        dataset,
        args.out,
        num=args.num,
        names=args.names,
        pick=args.pick,
        pool=args.pool,
        mode=args.mode,
        tile=args.tile,
        band=args.band,
        panel_width=args.panel_width,
        device=args.device,
    )


def run_activations(args):
    from seg.visualize.activations import relu_layers, render_activations
    from seg.visualize.selection import select_indices

    dataset, models = dataset_and_models(args)
    if args.list_layers:
        print("\n".join(relu_layers(models["zero"])))
        return []
    indices = select_indices(dataset, num=args.num, names=args.names)
    return render_activations(models, dataset, indices, args.layers, args.out, device=args.device)


def run_plots(args):
    from seg.visualize import plots

    out, written = Path(args.out), []
    if args.eval:
        runs = plots.load_eval_runs(args.eval)
        if any(len(t) > 1 for run in runs for t in run.get("leave_out", {}).values()):
            written.append(plots.save_figure(*plots.leave_out_figure(runs), out / "leave_out.png"))
        written.append(plots.save_figure(*plots.distance_figure(runs), out / "distance.png"))
    if args.compare:
        comparison = plots.load_comparison(args.compare)
        if any(c.split("/")[1] == "leave_out" and c.split("/", 2)[2] != "0"
               for c in comparison["columns"]):
            figure = plots.leave_out_band_figure(comparison)
            written.append(plots.save_figure(*figure, out / "leave_out_bands.png"))
        figure = plots.distance_band_figure(comparison)
        written.append(plots.save_figure(*figure, out / "distance_bands.png"))
    if args.logs:
        written.append(
            plots.save_figure(
                *plots.training_figure(plots.load_logs(args.logs)), out / "training.png"
            )
        )
    return written


def main(argv=None):
    args = parse_args(argv)
    written = {"compare": run_compare, "activations": run_activations, "plots": run_plots}[
        args.command
    ](args)
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    sys.exit(run_cli(main))
