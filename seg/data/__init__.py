"""Cityscapes data: discovery, city folds, augmentation, class-uniform sampling, synthetic
scenes."""
from .build import build_eval_dataset, build_train_dataset
from .cityscapes import CityscapesSegmentation, find_samples
from .class_uniform import ClassUniformDataset
from .collate import collate_batch
from .root import resolve_data_root
from .splits import fold_cities

__all__ = [
    "CityscapesSegmentation", "ClassUniformDataset",
    "build_eval_dataset", "build_train_dataset", "collate_batch", "find_samples", "fold_cities",
    "resolve_data_root",
]
