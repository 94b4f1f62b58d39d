"""load_predictor: a segmentation checkpoint rebuilt for prediction, with one-line errors.

The checkpoint is read by seg.engine.checkpoint.load_checkpoint (torch.load(weights_only=True)):
a file from elsewhere cannot run code while it loads. The model, its padding, class count and
output stride come from the config the checkpoint stores; `padding=` overrides the padding
(the paper's cross tests), like tools/evaluate.py --padding.
"""
from typing import Optional

from seg.engine.checkpoint import load_checkpoint
from seg.inference.predictor import Predictor
from seg.layers import PADDING_MODES
from seg.models import MODEL_NAMES, build_model
from seg.utils.errors import UserError


def read_checkpoint(path) -> dict:
    """Returns the dict stored in a segmentation checkpoint (weights_only loading)."""
    state = load_checkpoint(path)
    model_config = state.get("config", {}).get("model")
    if not isinstance(model_config, dict) or "model" not in state:
        raise UserError(f"{path}: not a segmentation checkpoint (needs 'model' and "
                        f"'config.model', has {sorted(state)}); pass a .pth written by "
                        "tools/train.py")
    return state


def load_predictor(checkpoint, *, padding: Optional[str] = None, device="cpu",
                   batch_size: Optional[int] = None) -> Predictor:
    """Returns a Predictor for a checkpoint written by tools/train.py, on device."""
    state = read_checkpoint(checkpoint)
    config = dict(state["config"]["model"])
    config.pop("pretrained_backbone", None)  # the trained weights replace it
    if config.get("name") not in MODEL_NAMES:
        raise UserError(f"{checkpoint}: model {config.get('name')!r} is not one of "
                        f"{', '.join(MODEL_NAMES)}")
    if padding is not None:
        if padding not in PADDING_MODES:
            raise UserError(f"padding {padding!r}: choose one of {', '.join(PADDING_MODES)}")
        config["padding"] = padding
    try:
        model = build_model(**config)
    except (TypeError, ValueError) as error:
        raise UserError(f"{checkpoint}: its model config {config} does not build ({error})") \
            from None
    _load_weights(model, state["model"], checkpoint, config)
    return Predictor(model.to(device).eval(), num_classes=config.get("num_classes", 19),
                     output_stride=config.get("output_stride", 8), name=str(checkpoint),
                     device=str(device), batch_size=batch_size)


def _load_weights(model, weights, checkpoint, config) -> None:
    """Loads weights strictly; a mismatch is one line naming the first differing tensor."""
    own = model.state_dict()
    missing = [key for key in own if key not in weights]
    unexpected = [key for key in weights if key not in own]
    shapes = [key for key in own if key in weights and own[key].shape != weights[key].shape]
    if missing or unexpected or shapes:
        first = shapes[:1] or missing[:1] or unexpected[:1]
        detail = (f"{first[0]} is {tuple(weights[first[0]].shape)} in the file, "
                  f"{tuple(own[first[0]].shape)} in the model" if shapes else
                  f"{len(missing)} tensors missing, {len(unexpected)} unexpected, e.g. {first[0]}")
        raise UserError(f"{checkpoint}: its weights do not fit {config['name']} with "
                        f"{config.get('num_classes', 19)} classes ({detail}); the file's config "
                        "and weights disagree, pass the checkpoint the run wrote")
    model.load_state_dict(weights, strict=True)
