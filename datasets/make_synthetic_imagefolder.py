"""Write a small synthetic ImageFolder (train/<class>/*.png, val/<class>/*.png) for the CPU
classification recipe.

    python datasets/make_synthetic_imagefolder.py --out datasets/synthetic_imagefolder

Classes are (shape, texture) pairs (the default 3: disc_stripes, square_checker, triangle_dots);
every object touches the image border. The same --seed writes the same files.
"""
import argparse
import pathlib

from seg.classification.synthetic import CLASS_NAMES, make_synthetic_imagefolder

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out",
        default=str(REPO_ROOT / "datasets" / "synthetic_imagefolder"),
        help="output folder (default: datasets/synthetic_imagefolder in the repository)",
    )
    parser.add_argument("--classes", type=int, default=3, help=f"2 to {len(CLASS_NAMES)}")
    parser.add_argument("--train-per-class", type=int, default=60)
    parser.add_argument("--val-per-class", type=int, default=20)
    parser.add_argument("--size", type=int, default=36, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = make_synthetic_imagefolder(
        args.out,
        classes=args.classes,
        train_per_class=args.train_per_class,
        val_per_class=args.val_per_class,
        size=args.size,
        seed=args.seed,
    )
    print(
        f"wrote {args.classes} classes x ({args.train_per_class} train + {args.val_per_class} val) "
        f"{args.size}x{args.size} images to {out}"
    )


if __name__ == "__main__":
    main()
