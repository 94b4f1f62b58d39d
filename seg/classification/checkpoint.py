"""Rebuilding a classifier from a checkpoint of tools/train_classifier.py, in its own padding or
another."""
from __future__ import annotations

from seg.classification.models import build_classifier
from seg.engine.checkpoint import load_checkpoint
from seg.utils.errors import BadValueError


def load_classifier(path, *, padding: str | None = None, map_location="cpu"):
    """Returns (model in eval mode, config dict) rebuilt from a classification checkpoint.

    The padding the run trained with is the stored config's model.padding; `padding` overrides it
    (the paper's cross testing). Every padding mode has the same parameters, so the weights load
    strictly either way.
    """
    state = load_checkpoint(path, map_location=map_location)
    config = state.get("config") or {}
    model_cfg = config.get("model") or {}
    if "model" not in state or set(model_cfg) != {"name", "num_classes", "padding"}:
        raise BadValueError(
            f"{path}: not a checkpoint of tools/train_classifier.py (needs 'model' weights and a "
            f"config with model.name/num_classes/padding) — segmentation checkpoints load with "
            f"seg.engine.load_model"
        )
    model = build_classifier(model_cfg["name"], num_classes=model_cfg["num_classes"],
                             padding=padding or model_cfg["padding"])
    model.load_state_dict(state["model"], strict=True)
    return model.eval(), config
