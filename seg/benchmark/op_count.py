"""Operations dispatched per forward: a machine-independent measure of per-convolution overhead.

On a GPU every ATen operation is at least one kernel launch, a few microseconds that a small
convolution cannot hide; on any machine it is a Python-free, noise-free count. A
TorchDispatchMode sees every operation that reaches the kernels (composite operations such as
conv2d arrive already decomposed, as aten.convolution), views and in-place operations included.
"""
from collections import Counter
from typing import Callable, Dict

import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode

from seg.benchmark.inference import build_benchmark_model
from seg.benchmark.mask_conv import use_padding
from seg.layers import partial_path
from seg.layers.switch import padded_convs

# Variants counted by tools/benchmark.py: (padding mode of seg.benchmark.mask_conv, ratio path).
COUNTED = {"zero": ("zeros", None), "partial strips": ("partial", "strips"),
           "partial fused": ("partial", "fused"), "maskconv": ("maskconv", None)}


class OpCounter(TorchDispatchMode):
    """Counts the ATen operations dispatched while active, by name (`counts`)."""

    def __init__(self):
        super().__init__()
        self.counts = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))

    def total(self) -> int:
        return sum(self.counts.values())


def count_ops(run: Callable[[], object], warmup: int = 1) -> Counter:
    """Returns the operations one call of run() dispatches, by name, after `warmup` calls.

    The warm-up fills the ratio caches, so a steady-state call is counted (the first call at a
    new input size also builds its ratio tables).
    """
    for _ in range(warmup):
        run()
    counter = OpCounter()
    with counter:
        run()
    return counter.counts


def forward_counts(model: nn.Module, x: torch.Tensor, *, training: bool = False,
                   variants=tuple(COUNTED)) -> Dict[str, int]:
    """Returns {variant: operations of one forward of model(x)} for the COUNTED variants.

    training=False: eval mode under torch.inference_mode. training=True: train mode with
    autograd recording (the forward of a training step; the backward is not counted). The
    model's padding is switched in place and restored to zero padding at the end.
    """
    was_training = model.training
    model.train(training)
    counts = {}
    try:
        for name in variants:
            mode, path = COUNTED[name]
            use_padding(model, mode)
            with partial_path(path), torch.inference_mode(not training):
                counts[name] = sum(count_ops(lambda: model(x)).values())
    finally:
        use_padding(model, "zeros")
        model.train(was_training)
    return counts


def padded_conv_count(model: nn.Module) -> int:
    """Returns how many convolutions of model have a non-zero padding (each one's overhead)."""
    return len(padded_convs(model))


def op_count_block(model_name: str, inference_input: tuple, training_input: tuple,
                   device: torch.device) -> dict:
    """Returns {"model", "padded_convs", "inference", "training", "<forward>_input"}: the
    COUNTED variants' operations per forward, inference on inference_input (N, C, H, W) and the
    forward of a training step on training_input."""
    model = build_benchmark_model(model_name).to(device)
    block = {"model": model_name, "padded_convs": padded_conv_count(model)}
    for forward, shape in (("inference", inference_input), ("training", training_input)):
        x = torch.randn(*shape, device=device)
        block[forward] = forward_counts(model, x, training=forward == "training")
        block[f"{forward}_input"] = list(shape)
    return block
