"""Cityscapes data: discovery, labels, city folds, augmentation, class-uniform sampling, synthetic scenes."""
from .build import build_eval_dataset, build_train_dataset
from .cityscapes import CityscapesSegmentation, find_samples
from .class_uniform import ClassUniformDataset
from .collate import collate_batch
from .labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES
from .root import resolve_data_root
from .splits import fold_cities

__all__ = [
    "CLASS_NAMES", "IGNORE_INDEX", "NUM_CLASSES", "CityscapesSegmentation", "ClassUniformDataset",
    "build_eval_dataset", "build_train_dataset", "collate_batch", "find_samples", "fold_cities",
    "resolve_data_root",
]
