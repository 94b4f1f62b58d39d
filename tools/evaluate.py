"""Evaluate checkpoints (or folders of submission PNGs) as in the paper's tables 5-7.

    python tools/evaluate.py --checkpoint A.pth B.pth [--data-root ROOT] [--split val] [--fold K]
        [--modes regular tile tile_overlap] [--leave-out 0 1/3 1/2 2/3 3/4 7/8] [--padding MODE]
        [--tile 1024] [--device cpu] [--num-images N] [--dump-predictions DIR] [--json OUT]
    python tools/evaluate.py --predictions DIR [DIR ...] [--official] ...

Tables are printed; each checkpoint's results are saved next to it as
<stem>_eval[_<padding>].{json,md,npz} (a prediction folder's next to the folder as
<folder>_eval.*). The .npz holds every image's per-class intersection and union counts
(seg.evaluation.per_image), what tools/compare.py resamples.
"""
import argparse
import json
from pathlib import Path

from seg.data import build_eval_dataset, resolve_data_root
from seg.engine.segmentation import load_model
from seg.evaluation import evaluate, evaluate_predictions, markdown_report
from seg.evaluation.per_image import save_per_image
from seg.evaluation.tiling import MODE_OVERLAP
from seg.layers import PADDING_MODES


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
    parser.add_argument("--json", metavar="OUT", help="write every number to OUT")
    parser.add_argument("--no-progress", action="store_true")
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
    stem = Path(path).with_name(
        Path(path).stem + "_eval" + (f"_{args.padding}" if args.padding else "")
    )
    save(result, [result], stem)
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
    folder = Path(folder).resolve()
    save(result, [result], folder.with_name(folder.name + "_eval"))
    return result


def save(result, runs, stem):
    """Write <stem>.npz (per-image counts, popped from `result`), <stem>.json and <stem>.md."""
    stats = result.pop("per_image")
    keys = ("name", "split", "fold", "data_root", "padding", "trained_padding", "seed",
            "checkpoint", "predictions")
    stats.meta.update({k: result[k] for k in keys if result.get(k) is not None})
    result["per_image"] = str(save_per_image(stats, f"{stem}.npz"))
    Path(f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    Path(f"{stem}.md").write_text(markdown_report(runs))
    print(f"saved {stem}.json, {stem}.md and {stem}.npz")


def main(argv=None):
    args = parse_args(argv)
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
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"saved {args.json}")
    return runs


if __name__ == "__main__":
    main()
