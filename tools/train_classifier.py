"""Train a torchvision classifier with a chosen padding: `python tools/train_classifier.py CONFIG
[key=value ...]`.

Examples:
    python tools/train_classifier.py configs/resnet18_synthetic_partial.yaml
    python tools/train_classifier.py configs/resnet18_synthetic_partial.yaml \\
        model.padding=zeros train.seed=1
    torchrun --nproc_per_node=8 tools/train_classifier.py configs/resnet50_imagenet_partial.yaml \\
        train.seed=3

The run folder <output_dir>/<run_name> (default run_name: <config name>_seed<seed>) holds last.pth,
best.pth (by top-1), log.jsonl, TensorBoard events, run.json and summary.json (per-epoch
top-1/top-5, best top-1, mean of the last 5 epochs). Resume with train.resume=auto.
"""
import argparse
import sys

from seg.classification.config import load_classification_config
from seg.classification.train import train_classifier
from seg.utils.distributed import cleanup, is_main_process
from seg.utils.errors import run_cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "config", help="YAML recipe in configs/ (resnet50_imagenet_partial.yaml, ...)"
    )
    parser.add_argument(
        "overrides", nargs="*", help="key=value, e.g. model.padding=zeros train.seed=2"
    )
    args = parser.parse_args(argv)
    cfg = load_classification_config(args.config, args.overrides)
    main_process = False
    try:
        result = train_classifier(cfg)
        # asked before cleanup(): without a process group every rank is 0
        main_process = is_main_process()
    finally:
        cleanup()
    if main_process:
        summary = result.get("summary")
        if summary:
            print(
                f"best top-1 {summary['best_top1']:.3f}, mean of the last "
                f"{summary['last_epochs']} epochs "
                f"{summary['last5_top1']:.3f}"
            )
        print(
            f"{result['status']} at iteration {result['iteration']}; checkpoints in {cfg.run_dir()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
