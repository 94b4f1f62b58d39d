"""Prediction on users' images: checkpoint loading, padded batches, test-time augmentation."""
from seg.inference.batch import pad_batch, unpad
from seg.inference.checkpoint import load_predictor, read_checkpoint
from seg.inference.images import normalize, read_image, to_rgb
from seg.inference.invariance import batch_invariance
from seg.inference.predictor import Predictor

__all__ = ["Predictor", "batch_invariance", "load_predictor", "normalize", "pad_batch",
           "read_checkpoint", "read_image", "to_rgb", "unpad"]
