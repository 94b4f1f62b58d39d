"""Typed training configuration: dataclasses with commented defaults, loaded from YAML.

One YAML file holds the whole recipe (no base files to chase); `key=value` overrides on the
command line change single values, e.g. `train.lr=0.01 model.padding=zeros`. Every value is
type-checked against the dataclass field, and an unknown key is rejected with the closest valid
name, so a typo never silently trains the default.
"""
from __future__ import annotations

import dataclasses
import difflib
import pathlib
import types
import typing
from dataclasses import dataclass, field
from typing import Optional

import yaml

from seg.utils.errors import UserError

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent

# Values checked beyond their type; model names and paddings are checked by build_model /
# seg.layers.
CHOICES = {
    "train.amp": ("auto", "off", "bf16", "fp16"),
    "train.device": ("auto", "cpu", "cuda"),
}


@dataclass
class ModelConfig:
    """The keywords of seg.models.build_model, exactly."""
    name: str = "deeplabv3plus_resnet50"  # one of seg.models.MODEL_NAMES
    num_classes: int = 19  # Cityscapes trainIds; 255 is ignored
    padding: str = "partial"  # zeros | reflect | replicate | circular | partial
    output_stride: int = 8  # the paper's encoder stride
    # None: ASPP image pooling over the whole map, as the paper
    aspp_pool_size: Optional[int] = None
    # ImageNet encoder: "torchvision:ResNet50_Weights.IMAGENET1K_V1" (torchvision's weights API and
    # cache), or a file: wider_resnet38.pth.tar, a state_dict, a checkpoint of
    # tools/train_classifier.py. None: random weights (said at start).
    pretrained_backbone: Optional[str] = None


@dataclass
class DataConfig:
    """Where the Cityscapes tree is and how training crops are drawn from it."""
    # None: $CITYSCAPES_DATASET, else datasets/cityscapes (repo-relative)
    root: Optional[str] = None
    fold: int = 0  # 18/3 city split; 0 is the official train/val split
    crop_size: int = 896  # paper: 896 for ResNet50, 736 for WRN38
    scale_range: tuple[float, float] = (0.5, 2.0)  # random scaling before the crop
    coarse: bool = True  # add the 20k train_extra coarse images, as the paper
    # share of an epoch's crops around a centroid of a uniformly drawn class
    class_uniform_fraction: float = 0.5
    # centroids are per class and per tile of this size (the authors' 1024)
    class_uniform_tile: int = 1024
    # paper's value: brightness, contrast, saturation and hue (hue +-0.25 turn = +-90 deg)
    color_jitter: float = 0.25
    # Gaussian blur of every crop after the jitter, sigma 0.15 + U(0, 1) * 1.15 (the authors')
    blur: bool = True
    # true: a class-uniform crop is placed anywhere it contains its centroid, so near the image
    # border it runs past it; the outside is padding (image 0, label 255, valid 0). false: kept
    # inside the image, as the authors'
    crop_past_border: bool = False
    num_workers: int = 4  # loader processes per training process


@dataclass
class TrainConfig:
    """Optimiser, schedule and loop settings (paper section 4.2)."""
    iterations: int = 31000  # paper: 31k SGD iterations
    batch_size: int = 2  # images per process (per GPU); paper: 2 with synchronized BatchNorm
    lr: float = 3e-2  # paper: 3e-2 ResNet50, 1e-2 WRN38
    momentum: float = 0.9
    weight_decay: float = 1e-4
    poly_power: float = 1.0  # lr = base * (1 - it / iterations) ** power, stepped every iteration
    # seeds weights, data order and augmentation; rank r uses seed + r for its own RNGs
    seed: int = 0
    amp: str = "auto"  # auto: bf16 (or fp16 + GradScaler) on CUDA, off on the CPU
    channels_last: bool = False  # NHWC memory format; faster on recent GPUs
    # True: the partial model treats the padding of crops smaller than the crop size as holes (the
    # paper's big-padding formulation); False: both models see the same black padded pixels.
    mask_propagation: bool = False
    # true: train-mode BatchNorm statistics over the real pixels of the crops only (the padding
    # of crops is left out; seg.layers.masked_batchnorm); false: over every pixel, as nn.BatchNorm2d
    masked_batchnorm: bool = False
    compile: Optional[str] = None  # torch.compile backend of the step ("inductor"); None: eager
    device: str = "auto"  # auto: cuda when available
    log_every: int = 20  # iterations between logged scalars
    checkpoint_every: int = 1000  # iterations between last.pth writes (and always at the end)
    # None: start fresh; "auto": last.pth of this run if present; or a path
    resume: Optional[str] = None
    # true: a fresh start replaces the checkpoints and logs of an earlier run of run_name
    overwrite: bool = False
    # true: resume from a checkpoint of another padding (fine-tuning across paddings)
    allow_padding_change: bool = False


@dataclass
class EvalConfig:
    """Validation during training: regular (whole image) mIoU on the fold's val cities."""
    split: str = "val"
    every: int = 5000  # iterations between validations; 0: only at the end
    max_images: Optional[int] = None  # validate on the first N images only (None: all)


@dataclass
class Config:
    """A whole training run."""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    run_name: str = ""  # "" -> the config file's name; checkpoints go to <output_dir>/<run_name>/
    output_dir: str = "checkpoints"  # relative paths are taken from the repository root

    def run_dir(self) -> pathlib.Path:
        """Returns the folder this run writes checkpoints and logs into."""
        return repo_path(self.output_dir) / self.run_name


def repo_path(path) -> pathlib.Path:
    """Returns `path`, taken from the repository root when relative (not from the working
    directory)."""
    path = pathlib.Path(path).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


class ConfigError(UserError, ValueError):
    """A config file or override that cannot be used as written."""


def load_config(path, overrides: list[str] | tuple[str, ...] = (), *, schema=None, ranges=None):
    """Returns the config (a `schema` instance, default Config) of a YAML file with `key=value`
    overrides on top.

    The classification track passes its own dataclass as `schema` and its `ranges`; the checks are
    the same.
    """
    schema = schema or Config
    ranges = RANGES if ranges is None else ranges
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file {path} not found — pass one of the files in {REPO_ROOT / 'configs'}"
        )
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections (model, data, train, eval), got "
            f"{type(raw).__name__}"
        )
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not key=value (e.g. train.lr=0.01)")
        _set_dotted(raw, key.strip(), _OverrideText(text.strip()))
    cfg = _build(schema, raw, prefix="", source=str(path), root=schema)
    check_ranges(cfg, ranges, str(path))
    if not cfg.run_name:
        cfg.run_name = path.stem
    return cfg


def at_least(low):
    """Returns a range check: value >= low."""
    return (lambda v: v >= low), f">= {low}"


def above(low):
    """Returns a range check: value > low."""
    return (lambda v: v > low), f"> {low}"


def within(low, high):
    """Returns a range check: low <= value <= high."""
    return (lambda v: low <= v <= high), f"in [{low}, {high}]"


def ordered_pair(low, high):
    """Returns a range check of a [lo, hi] pair: low < lo <= hi <= high."""
    bound = "" if high == float("inf") else f" <= {high}"
    return (lambda v: low < v[0] <= v[1] <= high), f"[lo, hi] with {low} < lo <= hi{bound}"


# Values a run cannot use even though their type is right: a zero count divides by zero or trains
# nothing.
RANGES = {
    "model.num_classes": at_least(1),
    "model.output_stride": ((lambda v: v in (8, 16)), "8 or 16"),
    "model.aspp_pool_size": at_least(1),
    "data.fold": within(0, 2),  # seg.data.splits.NUM_FOLDS folds
    "data.crop_size": at_least(1),
    "data.scale_range": ordered_pair(0, float("inf")),
    "data.class_uniform_fraction": within(0.0, 1.0),
    "data.class_uniform_tile": at_least(1),
    "data.color_jitter": within(0.0, 0.5),  # also the hue shift, at most half a turn
    "data.num_workers": at_least(0),
    "train.iterations": at_least(1),
    "train.batch_size": at_least(1),
    "train.lr": above(0.0),
    "train.momentum": within(0.0, 1.0),
    "train.weight_decay": at_least(0.0),
    "train.poly_power": above(0.0),
    "train.seed": at_least(0),
    "train.log_every": at_least(1),
    "train.checkpoint_every": at_least(1),
    "eval.every": at_least(0),
    "eval.max_images": at_least(1),
}


def check_ranges(cfg, ranges: dict, source: str) -> None:
    """Raises ConfigError naming the key, value and allowed range of a value out of range."""
    for key, (ok, allowed) in ranges.items():
        value = cfg
        for part in key.split("."):
            value = getattr(value, part)
        if value is not None and not ok(value):
            raise ConfigError(
                f"{source}: '{key}' is {value!r} but must be {allowed} — fix it in the file or "
                f"override it with {key}=VALUE"
            )


def config_from_dict(raw: dict, source: str = "checkpoint", *, schema=None):
    """Returns the config (default Config) stored in a checkpoint by config_to_dict (same checks as
    load_config)."""
    schema = schema or Config
    return _build(schema, raw, prefix="", source=source, root=schema)


def config_to_dict(cfg: Config) -> dict:
    """Returns the config as plain YAML/JSON-friendly dicts (tuples become lists)."""
    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value
    return plain(dataclasses.asdict(cfg))


def format_config(cfg: Config) -> str:
    """Returns the resolved config as YAML text, to print at the start of a run."""
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)


class _OverrideText(str):
    """A command-line value, kept as text until its field's type is known."""


def _set_dotted(raw: dict, key: str, value) -> None:
    parts = key.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):  # e.g. "run_name.x=1": let _build report the unknown key
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def _build(cls, raw, *, prefix: str, source: str, root):
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: '{prefix.rstrip('.')}' must be a mapping of its fields, got {raw!r}"
        )
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            # first a key given in the wrong section ("resume=auto" for "train.resume=auto"), then a
            # typo
            close = [k for k in _dotted_keys(root) if k.rsplit(".", 1)[-1] == key]
            close = close or [
                prefix + n for n in difflib.get_close_matches(str(key), names, n=1, cutoff=0.5)
            ]
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"{source}: unknown key '{prefix}{key}'{hint} (valid keys: "
                f"{', '.join(prefix + n for n in names)})"
            )
    values = {}
    for name in names:
        if name not in raw:
            continue
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            values[name] = _build(
                kind, raw[name], prefix=f"{prefix}{name}.", source=source, root=root
            )
        else:
            values[name] = _check(raw[name], kind, f"{prefix}{name}", source)
    return cls(**values)


def _dotted_keys(cls, prefix: str = "") -> list[str]:
    """Returns every leaf field of a config dataclass as a dotted key ("train.lr", ...)."""
    keys = []
    for name, kind in typing.get_type_hints(cls).items():
        keys += (
            _dotted_keys(kind, f"{prefix}{name}.")
            if dataclasses.is_dataclass(kind)
            else [prefix + name]
        )
    return keys


def _check(value, kind, key: str, source: str):
    """Returns value converted to the field type `kind`, or raises naming the key and the type."""
    if isinstance(value, _OverrideText):
        value = _parse_override(value, kind)
    out = _convert(value, kind)
    if out is _INVALID:
        raise ConfigError(
            f"{source}: '{key}' must be {_type_name(kind)}, got {value!r} ({type(value).__name__})"
        )
    if key in CHOICES and out not in CHOICES[key]:
        raise ConfigError(f"{source}: '{key}' must be one of {CHOICES[key]}, got {out!r}")
    return out


_INVALID = object()


def _parse_override(text: str, kind):
    # Strings stay verbatim ("model.padding=zeros", "run_name=123"); everything else is YAML.
    if str in _members(kind) and text not in ("null", "None", "~"):
        return str(text)
    try:
        return yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return str(text)


def _members(kind) -> tuple:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return typing.get_args(kind)
    return (kind,)


def _convert(value, kind):
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        for member in typing.get_args(kind):
            out = _convert(value, member)
            if out is not _INVALID:
                return out
        return _INVALID
    if kind is type(None):
        return None if value is None else _INVALID
    if kind is bool:
        return value if isinstance(value, bool) else _INVALID
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _INVALID
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # PyYAML reads "3e-2" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                return _INVALID
        return _INVALID
    if kind is str:
        return value if isinstance(value, str) else _INVALID
    if origin is tuple:
        args = typing.get_args(kind)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            return _INVALID
        items = tuple(_convert(v, a) for v, a in zip(value, args))
        return _INVALID if any(i is _INVALID for i in items) else items
    raise TypeError(f"config field type {kind} is not supported by seg.config")


def _type_name(kind) -> str:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(m) for m in typing.get_args(kind))
    if kind is type(None):
        return "null"
    if origin is tuple:
        return "a list [" + ", ".join(_type_name(a) for a in typing.get_args(kind)) + "]"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(
        kind, str(kind)
    )
