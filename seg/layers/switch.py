"""Switching the padding scheme of every padded convolution of a model (the paper's cross tests).

Besides nn.Conv2d's modes and partial padding, `symmetric` (mirror including the edge pixel) and
timm's TensorFlow-'same' convs are served by seg.layers.explicit_pad. timm classes are recognised
by name, so timm stays an optional dependency that importing seg.layers does not load.
"""
import contextlib

import torch.nn as nn

from seg.layers.explicit_pad import ExplicitPadConv2d, SamePadConv2d
from seg.layers.partial_conv import PartialConv2d, resolve_padding

PADDING_MODES = ("zeros", "reflect", "replicate", "circular", "symmetric", "partial")

# Classes that take any mode by swapping to one of these (they add no state to nn.Conv2d).
_SWITCHABLE = (nn.Conv2d, PartialConv2d, ExplicitPadConv2d, SamePadConv2d)
# timm's conv that pads per input size, TensorFlow style: switched to SamePadConv2d.
_TIMM_SAME = ("timm.layers.conv2d_same", "Conv2dSame")
_WEIGHT_STANDARDISED = ("StdConv2d", "StdConv2dSame", "ScaledStdConv2d", "ScaledStdConv2dSame")
# timm's conv that is not an nn.Conv2d (per-sample expert weights, its own padding).
_TIMM_COND = ("timm.layers.cond_conv2d", "CondConv2d")


def _check_mode(mode: str) -> None:
    if mode not in PADDING_MODES:
        raise ValueError(
            f"unknown padding mode {mode!r}; valid modes are {', '.join(PADDING_MODES)}")


def _class_key(module) -> tuple:
    return type(module).__module__, type(module).__name__


def _pads_per_input(conv: nn.Conv2d) -> bool:
    return isinstance(conv, SamePadConv2d) or _class_key(conv) == _TIMM_SAME


def _refusal(name: str, conv: nn.Conv2d) -> str:
    """Returns why set_padding cannot switch conv (a subclass with its own forward)."""
    kind = type(conv).__name__
    where = name or "model"
    if type(conv).__module__.startswith("timm.") and kind in _WEIGHT_STANDARDISED:
        return (f"set_padding: {where} is timm's {kind}, which standardises its weight inside its "
                "own forward; swapping its class would drop that standardisation and change what "
                "the layer computes — build the model with the padding you need instead")
    return (f"set_padding: {where} is a {kind}, a subclass of nn.Conv2d with its own forward; "
            "only nn.Conv2d, PartialConv2d and timm's Conv2dSame can be switched — build it "
            "with the padding you need instead")


def padded_convs(model: nn.Module):
    """Returns [(name, conv)] of the convolutions of model that pad (any mode pads them)."""
    convs = []
    for name, module in model.named_modules():
        if _class_key(module) == _TIMM_COND and any(k > 1 for k in module.kernel_size):
            raise TypeError(f"set_padding: {name or 'model'} is timm's CondConv2d, which mixes "
                            "per-sample expert weights in its own forward and pads there; it "
                            "cannot be switched — build the model with the padding you need")
        if not isinstance(module, nn.Conv2d) or not _pads(module):
            continue  # pads nothing: every mode is the same convolution
        if type(module) not in _SWITCHABLE and _class_key(module) != _TIMM_SAME:
            raise TypeError(_refusal(name, module))
        convs.append((name, module))
    return convs


def _pads(conv: nn.Conv2d) -> bool:
    if _pads_per_input(conv) or type(conv).__name__.endswith("Same"):
        # TensorFlow 'same' pads (k - 1) * d in total, however the input size falls
        return any(k > 1 for k in conv.kernel_size)
    if conv.padding == "same":
        return any(d * (k - 1) for k, d in zip(conv.kernel_size, conv.dilation))
    return resolve_padding(conv.padding, conv.kernel_size, conv.dilation) != (0, 0)


def _uneven(conv: nn.Conv2d) -> bool:
    return conv.padding == "same" and any(d * (k - 1) % 2 for k, d in
                                          zip(conv.kernel_size, conv.dilation))


def _conv_mode(conv: nn.Conv2d) -> str:
    return "partial" if isinstance(conv, PartialConv2d) else conv.padding_mode


def _target(conv: nn.Conv2d, mode: str) -> tuple:
    """Returns (class, padding_mode) that makes conv compute padding `mode`."""
    if _pads_per_input(conv):
        return SamePadConv2d, mode
    if mode == "partial" and not _uneven(conv):
        return PartialConv2d, "zeros"
    if mode in ("partial", "symmetric"):
        return ExplicitPadConv2d, mode
    return nn.Conv2d, mode


def _set_conv_class(conv: nn.Conv2d, cls, padding_mode: str) -> None:
    # The class is swapped in place rather than the module rebuilt: the same module object keeps
    # its parameters, buffers, hooks and name, so optimizers, DDP wrappers and state_dict keys
    # are untouched. The target classes add no state to nn.Conv2d, which makes the swap exact.
    conv.__class__ = cls
    conv.padding_mode = padding_mode


def set_padding(model: nn.Module, mode: str) -> nn.Module:
    """Returns model, its padded convolutions switched in place to padding `mode`.

    Convolutions with padding 0 are left alone; parameters are shared (nothing is copied) and the
    state_dict keys stay identical, so any checkpoint loads into any mode. A conv subclass with
    its own forward (timm's weight-standardised convs) is refused with a TypeError naming it.
    """
    _check_mode(mode)
    for _, conv in padded_convs(model):
        _set_conv_class(conv, *_target(conv, mode))
    return model


def get_padding_mode(model: nn.Module) -> str:
    """Returns the padding mode shared by model's padded convolutions ('zeros' if it has none)."""
    modes = sorted({_conv_mode(conv) for _, conv in padded_convs(model)})
    if len(modes) > 1:
        raise ValueError(f"the model mixes padding modes {modes}; call set_padding(model, mode) "
                         "to give every padded convolution the same one")
    return modes[0] if modes else "zeros"


@contextlib.contextmanager
def padding_mode(model: nn.Module, mode: str):
    """Yields model switched to padding `mode`; every convolution's own class and mode are
    restored on exit."""
    _check_mode(mode)
    before = [(conv, type(conv), conv.padding_mode) for _, conv in padded_convs(model)]
    try:
        for conv, _, _ in before:
            _set_conv_class(conv, *_target(conv, mode))
        yield model
    finally:
        for conv, cls, previous in before:
            _set_conv_class(conv, cls, previous)
