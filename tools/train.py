"""Train a segmentation model: `python tools/train.py CONFIG [key=value ...]`, or under torchrun for
DDP.

Examples:
    python tools/train.py configs/deeplabv3plus_small_os8_partial_synthetic.yaml \\
        train.iterations=100
    torchrun --nproc_per_node=8 tools/train.py configs/deeplabv3plus_r50_os8_partial_cityscapes.yaml
"""
import argparse
import sys

from seg.config import load_config
from seg.engine.segmentation import train_segmentation
from seg.utils.distributed import cleanup
from seg.utils.errors import run_cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", help="YAML recipe in configs/")
    parser.add_argument(
        "overrides", nargs="*", help="key=value, e.g. train.lr=0.01 model.padding=zeros"
    )
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.overrides)
    try:
        result = train_segmentation(cfg)
    finally:
        cleanup()
    print(f"{result['status']} at iteration {result['iteration']}; checkpoints in {cfg.run_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
