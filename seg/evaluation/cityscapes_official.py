"""Bridge to cityscapesscripts' evalPixelLevelSemanticLabeling, to check our mIoU against the
official one.

The official script keeps its settings in a module-level `args` object filled from environment
variables at import time; we copy that object and set the paths explicitly instead, so the result
does not depend on the caller's environment and nothing is written to disk.
"""
import copy
import glob
import os
from pathlib import Path

from seg.utils.errors import MissingFileError


def official_scores(predictions, data_root, split="val"):
    """Return cityscapesscripts' result dict ("averageScoreClasses" in [0, 1], "classScores",
    ...)."""
    from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as official

    pattern = os.path.join(str(data_root), "gtFine", split, "*", "*_gtFine_labelIds.png")
    ground_truth = sorted(glob.glob(pattern))
    if not ground_truth:
        raise MissingFileError(f"no ground truth matches {pattern}; check --data-root and --split")
    args = copy.copy(official.args)
    args.cityscapesPath = str(data_root)
    args.predictionPath = str(Path(predictions))
    args.predictionWalk = None
    args.evalInstLevelScore = False  # needs *_instanceIds.png, which are not part of this check
    args.evalPixelAccuracy = False
    args.JSONOutput = False
    args.quiet = True
    args.colorized = False
    args.bold = args.nocol = ""
    try:
        found = [official.getPrediction(args, gt) for gt in ground_truth]
        return official.evaluateImgLists(found, ground_truth, args)
    except SystemExit as error:  # printError() exits; turn it into an exception the caller can see
        raise RuntimeError(
            f"cityscapesscripts failed on {predictions} (see its message above)"
        ) from error
