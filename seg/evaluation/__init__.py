"""Evaluation of segmentation models as in the paper's tables 5-7: regular, tiled and center
leave-out mIoU."""
from seg.evaluation.confusion import ConfusionMatrix
from seg.evaluation.evaluator import evaluate, evaluate_predictions
from seg.evaluation.regions import (
           border_distance,
           center_leave_out_mask,
           distance_bands,
)
from seg.evaluation.report import markdown_report
from seg.evaluation.tiling import (
           MODE_OVERLAP,
           predict,
           predict_regular,
           predict_tiled,
           tile_starts,
)

__all__ = [
    "ConfusionMatrix",
    "MODE_OVERLAP",
    "border_distance",
    "center_leave_out_mask",
    "distance_bands",
    "evaluate",
    "evaluate_predictions",
    "markdown_report",
    "predict",
    "predict_regular",
    "predict_tiled",
    "tile_starts",
]
