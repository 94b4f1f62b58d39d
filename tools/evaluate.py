"""Evaluate checkpoints (or folders of submission PNGs) as in the paper's tables 5-7.

    python tools/evaluate.py --checkpoint A.pth B.pth [--data-root ROOT] [--split val] [--fold K]
        [--modes regular tile tile_overlap] [--leave-out 0 1/3 1/2 2/3 3/4 7/8] [--padding MODE]
        [--tile 1024] [--device cpu] [--num-images N] [--dump-predictions DIR] [--json OUT]
        [--compile [BACKEND]] [--out DIR] [--scales 0.5 1.0 2.0] [--flip]
    python tools/evaluate.py --predictions DIR [DIR ...] [--official] ...

Tables are printed. --json OUT writes every number to OUT and the tables to OUT with suffix .md;
--out DIR writes each checkpoint's results to DIR/<name>_eval[_<padding>].{json,md}. Nothing is
written beside a checkpoint unless --out names its folder. Add --debug to see a traceback.
Beside each JSON, a .npz holds every image's per-class intersection and union counts
(seg.evaluation.per_image; with several runs in one --json, OUT_<name>.npz each): what
tools/compare.py resamples.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import torch

from seg.data import build_eval_dataset, resolve_data_root
from seg.engine.segmentation import load_model
from seg.evaluation import evaluate, evaluate_predictions, markdown_report
from seg.evaluation.per_image import PerImageStats, save_per_image
from seg.evaluation.tiling import MODE_OVERLAP
from seg.layers import PADDING_MODES
from seg.utils.errors import UserError, run_cli
from seg.utils.files import write_text_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--checkpoint",
        nargs="+",
        help="checkpoints (rows of the tables; the diff row is 2nd - 1st)",
    )
    source.add_argument(
        "--predictions", nargs="+", help="folders of labelId PNGs to score with no model"
    )
    parser.add_argument(
        "--data-root",
        help="Cityscapes root (default: $CITYSCAPES_DATASET, else datasets/cityscapes)",
    )
    parser.add_argument("--split", default="val", choices=("train", "val"))
    parser.add_argument(
        "--fold", type=int, help="18/3 city split (default: the checkpoint's, else 0)"
    )
    parser.add_argument("--modes", nargs="+", default=["regular"], choices=list(MODE_OVERLAP))
    parser.add_argument(
        "--leave-out",
        nargs="+",
        default=["0"],
        help="center proportions, e.g. 0 1/3 1/2 2/3 3/4 7/8",
    )
    parser.add_argument(
        "--padding", choices=PADDING_MODES, help="override the checkpoint's padding at inference"
    )
    parser.add_argument("--tile", type=int, default=1024, help="tile side in pixels (tile modes)")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0],
                        help="test-time scales, e.g. 0.5 1.0 2.0 (logits averaged at input size)")
    parser.add_argument("--flip", action="store_true",
                        help="also average the mirrored image's logits")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--num-images", type=int, help="evaluate only the first N images (quick runs)"
    )
    parser.add_argument(
        "--dump-predictions",
        metavar="DIR",
        help="write labelId PNGs under DIR[/<checkpoint>]/<mode>/",
    )
    parser.add_argument(
        "--official",
        action="store_true",
        help="with --predictions: also print cityscapesscripts' averageScoreClasses",
    )
    parser.add_argument(
        "--json", metavar="OUT", help="write every number to OUT (and the tables to OUT.md)"
    )
    parser.add_argument(
        "--out", metavar="DIR", help="write each checkpoint's results to DIR/<name>_eval.{json,md}"
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--compile", nargs="?", const="inductor", metavar="BACKEND",
                        help="run the model through torch.compile (backend default inductor)")
    return parser.parse_args(argv)


def run_label(path, paths):
    """Returns the checkpoint's name in tables: its file stem, with its folder when stems repeat
    (run/last)."""
    stems = [Path(p).stem for p in paths]
    return (
        Path(path).stem
        if stems.count(Path(path).stem) == 1
        else f"{Path(path).parent.name}/{Path(path).stem}"
    )


def run_checkpoint(path, args, data_root, several, label=None):
    model, config = load_model(path, padding=args.padding, map_location=args.device)
    model.to(args.device)
    if args.compile:
        model = torch.compile(model, backend=args.compile)
    fold = args.fold if args.fold is not None else config.get("data", {}).get("fold", 0)
    dataset = build_eval_dataset(data_root, args.split, fold=fold)
    label = label or Path(path).stem
    dump = args.dump_predictions and (str(Path(args.dump_predictions) / label) if several
                                      else args.dump_predictions)
    result = evaluate(
        model,
        dataset,
        modes=args.modes,
        leave_out=args.leave_out,
        tile=args.tile,
        device=args.device,
        progress=not args.no_progress,
        num_images=args.num_images,
        dump_dir=dump,
        scales=args.scales,
        flip=args.flip,
        per_image=True,
    )
    padding = args.padding or config["model"]["padding"]
    name = label + (f" ({padding} padding)" if args.padding else "")
    result.update(
        name=name,
        checkpoint=str(path),
        padding=padding,
        trained_padding=config["model"]["padding"],
        split=args.split,
        fold=fold,
        data_root=str(data_root),
        seed=config.get("train", {}).get("seed"),
    )
    if args.out:
        stem = Path(args.out) / (
            label.replace("/", "_") + "_eval" + (f"_{args.padding}" if args.padding else "")
        )
        save(result, [result], f"{stem}.json")
    return result


def run_predictions(folder, args, data_root):
    fold = args.fold or 0
    dataset = build_eval_dataset(data_root, args.split, fold=fold)
    result = evaluate_predictions(
        folder,
        dataset,
        leave_out=args.leave_out,
        progress=not args.no_progress,
        num_images=args.num_images,
        per_image=True,
    )
    result.update(name=Path(folder).name, split=args.split, fold=fold, data_root=str(data_root))
    if args.official:
        from seg.evaluation.cityscapes_official import official_scores
        official = official_scores(folder, data_root, args.split)
        result["official_averageScoreClasses"] = 100 * official["averageScoreClasses"]
        print(
            f"{folder}: cityscapesscripts averageScoreClasses "
            f"{result['official_averageScoreClasses']:.3f}, "
            f"ours {result['mIoU']['predictions']:.3f}"
        )
    return result


def save_counts(runs, json_path):
    """Writes each run's per-image counts beside json_path (.npz; _<name>.npz for several runs)."""
    json_path = Path(json_path)
    for run in runs:
        stats = run.get("per_image")
        if not isinstance(stats, PerImageStats):
            continue  # already saved beside another JSON; the run keeps that file's path
        keys = ("name", "split", "fold", "data_root", "padding", "trained_padding", "seed",
                "checkpoint", "predictions")
        stats.meta.update({k: run[k] for k in keys if run.get(k) is not None})
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in run["name"])
        path = (json_path.with_suffix(".npz") if len(runs) == 1
                else json_path.with_name(f"{json_path.stem}_{name}.npz"))
        run["per_image"] = str(save_per_image(stats, path))
        print(f"saved {path}")


def save(result, runs, json_path):
    """Writes the numbers to json_path, the tables beside it (suffix .md) and each run's per-image
    counts (.npz), each atomically."""
    save_counts(runs, json_path)
    markdown = Path(json_path).with_suffix(".md")
    write_text_atomic(json_path, json.dumps(result, indent=2) + "\n")
    write_text_atomic(markdown, markdown_report(runs))
    print(f"saved {json_path} and {markdown}")


def check_writable(folder) -> None:
    """Raises before any evaluation when results could not be written into `folder`."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(
            f"cannot create the output folder {folder} ({err.strerror}) — pass --json/--out in a "
            f"folder you can write"
        ) from None
    if not os.access(folder, os.W_OK):
        raise UserError(
            f"the output folder {folder} is not writable — pass --json/--out in a folder you can "
            "write"
        )


def main(argv=None):
    args = parse_args(argv)
    for folder in [Path(args.json).parent if args.json else None, args.out, args.dump_predictions]:
        if folder is not None:
            check_writable(folder)
    data_root = resolve_data_root(args.data_root)
    if args.checkpoint:
        runs = [
            run_checkpoint(
                p, args, data_root, len(args.checkpoint) > 1, run_label(p, args.checkpoint)
            )
            for p in args.checkpoint
        ]
    else:
        runs = [run_predictions(p, args, data_root) for p in args.predictions]
    print(markdown_report(runs))
    if args.json:
        # One run: its results dict (top-level "mIoU"); several: {"runs": [...]} in table order.
        out = runs[0] if len(runs) == 1 else {"runs": runs}
        save(out, runs, args.json)
    return runs


if __name__ == "__main__":
    sys.exit(run_cli(main))
