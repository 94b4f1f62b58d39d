"""Write a synthetic Cityscapes tree (procedural street scenes, exact Cityscapes layout and naming).

    python datasets/make_synthetic.py --out datasets/cityscapes --train 100 --val 20 --extra 40 \\
        --size 256 512 --seed 0
"""
import argparse
import time

from seg.data.synthetic import make_synthetic


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", required=True, help="root of the tree to write (e.g. datasets/cityscapes)"
    )
    parser.add_argument(
        "--train", type=int, default=100, help="fine train images, dealt over the 18 train cities"
    )
    parser.add_argument(
        "--val", type=int, default=20, help="fine val images, dealt over the 3 val cities"
    )
    parser.add_argument("--extra", type=int, default=40, help="coarse train_extra images")
    parser.add_argument(
        "--test", type=int, default=0, help="test images (labels all unlabeled, as released)"
    )
    parser.add_argument("--size", type=int, nargs=2, default=(1024, 2048), metavar=("H", "W"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    names = make_synthetic(
        args.out,
        train=args.train,
        val=args.val,
        extra=args.extra,
        test=args.test,
        size=tuple(args.size),
        seed=args.seed,
    )
    print(f"wrote {len(names)} images of {args.size[0]}x{args.size[1]} under {args.out} "
          f"in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
