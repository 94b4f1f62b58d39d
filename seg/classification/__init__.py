"""Classification track (paper section 4.1): torchvision classifiers trained and cross tested with
any padding.

Training goes through the same seg.engine loop as segmentation (seg.classification.train).
"""
from seg.classification.aggregate import aggregate, aggregate_tables
from seg.classification.checkpoint import load_classifier
from seg.classification.config import ClassificationConfig, load_classification_config
from seg.classification.cross_test import cross_test
from seg.classification.data import build_train_set, build_val_set, eval_transform, train_transform
from seg.classification.evaluate import evaluate_classifier
from seg.classification.metrics import TopKAccuracy, topk_correct
from seg.classification.models import PAPER_MODELS, build_classifier, classifier_names
from seg.classification.runs import read_run
from seg.classification.synthetic import make_synthetic_imagefolder

__all__ = [
    "PAPER_MODELS",
    "ClassificationConfig",
    "TopKAccuracy",
    "aggregate",
    "aggregate_tables",
    "build_classifier",
    "build_train_set",
    "build_val_set",
    "classifier_names",
    "cross_test",
    "eval_transform",
    "evaluate_classifier",
    "load_classification_config",
    "load_classifier",
    "make_synthetic_imagefolder",
    "read_run",
    "topk_correct",
    "train_transform",
]
