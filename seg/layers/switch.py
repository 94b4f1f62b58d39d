"""Switching the padding scheme of every padded convolution of a model (the paper's cross tests)."""
import contextlib

import torch.nn as nn

from seg.layers.partial_conv import PartialConv2d, resolve_padding

PADDING_MODES = ("zeros", "reflect", "replicate", "circular", "partial")


def _check_mode(mode: str) -> None:
    if mode not in PADDING_MODES:
        raise ValueError(
            f"unknown padding mode {mode!r}; valid modes are {', '.join(PADDING_MODES)}")


def padded_convs(model: nn.Module):
    """Returns [(name, conv)] of the convolutions of model whose padding is not 0."""
    convs = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Conv2d):
            continue
        if not _pads(module):
            continue  # nothing to pad: every mode is the same convolution
        if type(module) not in (nn.Conv2d, PartialConv2d):
            raise TypeError(
                f"set_padding: {name or 'model'} is a {type(module).__name__}, a subclass of "
                "nn.Conv2d with its own forward; only nn.Conv2d and PartialConv2d can be switched "
                "— build it with the padding you need instead")
        convs.append((name, module))
    return convs


def _pads(conv: nn.Conv2d) -> bool:
    if conv.padding == "same":  # may be uneven (even kernels): PartialConv2d refuses it on use
        return any(d * (k - 1) for k, d in zip(conv.kernel_size, conv.dilation))
    return resolve_padding(conv.padding, conv.kernel_size, conv.dilation) != (0, 0)


def _conv_mode(conv: nn.Conv2d) -> str:
    return "partial" if isinstance(conv, PartialConv2d) else conv.padding_mode


def _set_conv_mode(conv: nn.Conv2d, mode: str) -> None:
    # The class is swapped in place rather than the module rebuilt: the same module object keeps
    # its parameters, buffers, hooks and name, so optimizers, DDP wrappers and state_dict keys
    # are untouched. PartialConv2d adds no state to nn.Conv2d, which makes the swap exact.
    conv.__class__ = PartialConv2d if mode == "partial" else nn.Conv2d
    conv.padding_mode = "zeros" if mode == "partial" else mode


def set_padding(model: nn.Module, mode: str) -> nn.Module:
    """Returns model, its padded convolutions switched in place to padding `mode`.

    Convolutions with padding 0 are left alone; parameters are shared (nothing is copied) and the
    state_dict keys stay identical, so any checkpoint loads into any mode.
    """
    _check_mode(mode)
    for _, conv in padded_convs(model):
        _set_conv_mode(conv, mode)
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
    """Yields model switched to padding `mode`; every convolution's own mode is restored on exit."""
    _check_mode(mode)
    before = [(conv, _conv_mode(conv)) for _, conv in padded_convs(model)]
    try:
        for conv, _ in before:
            _set_conv_mode(conv, mode)
        yield model
    finally:
        for conv, previous in before:
            _set_conv_mode(conv, previous)
