"""Training images/s of a recipe with zero vs partial padding, interleaved in one run.

    python tools/train_throughput.py configs/deeplabv3plus_small_os8_partial_synthetic.yaml \\
        [key=value ...]

One model switched between paddings (same weights, same memory), the same real training batches
(from the recipe's data), forward + loss + backward + SGD step; prints images/s per padding and
partial's time relative to zero padding.
"""
import argparse
import json
import pathlib
import sys

import torch

from seg.config import load_config
from seg.data import collate_batch
from seg.engine.segmentation import build_datasets, mask_batchnorm, training_step
from seg.engine.throughput import interleaved_throughput
from seg.models import build_model
from seg.utils.errors import run_cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config")
    parser.add_argument("overrides", nargs="*", help="key=value, as tools/train.py")
    parser.add_argument(
        "--paddings", nargs="+", default=["zeros", "partial"], help="the first is the reference"
    )
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4, help="training steps per variant and round")
    parser.add_argument(
        "--clock",
        choices=["wall", "process"],
        default="wall",
        help="process: CPU time of this process, for a machine shared with other jobs",
    )
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.overrides)
    train_data, _ = build_datasets(cfg)
    b = cfg.train.batch_size
    batches = [
        collate_batch([train_data[i * b + j] for j in range(b)])
        for i in range(min(4, len(train_data) // b))
    ]
    torch.manual_seed(cfg.train.seed)
    # Timing needs no ImageNet weights (and must not need a download).
    model = build_model(**{**vars(cfg.model), "pretrained_backbone": None})
    model = mask_batchnorm(model, cfg.train.masked_batchnorm)
    step = training_step(cfg)
    result = interleaved_throughput(
        model,
        args.paddings,
        step,
        batches,
        rounds=args.rounds,
        steps=args.steps,
        lr=cfg.train.lr,
        clock=args.clock,
    )
    padded = sum(bool((batch["valid"] < 1).any()) for batch in batches)
    print(
        f"{cfg.model.name}, batch {b}, crop {cfg.data.crop_size}, {torch.get_num_threads()} "
        "threads, "
        f"{args.clock} clock, {args.rounds} interleaved rounds of {args.steps} steps "
        f"({padded} of {len(batches)} batches hold padded crops; train.mask_propagation="
        f"{cfg.train.mask_propagation}, train.masked_batchnorm={cfg.train.masked_batchnorm}):"
    )
    for padding in args.paddings:
        r = result[padding]
        print(
            f"  {padding:8s} {r['images_per_s']:7.2f} images/s (rounds "
            f"{r['spread'][0]:.2f}-{r['spread'][1]:.2f}), "
            f"time x{result['ratio'][padding]:.3f} of {args.paddings[0]}"
        )
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
