"""Training throughput of several variants of a model, measured interleaved in one process.

Interleaving (seg.utils.timing) spreads any drift of the machine (other processes, clocks,
caches) over every variant alike, so their ratio is fair even on a shared machine where
absolute numbers move.
"""
from __future__ import annotations

import statistics
from typing import Callable

import torch

from seg.layers import set_padding
from seg.utils.timing import interleaved_times


def _train_step(model, optimizer, step: Callable, batch) -> None:
    loss = step(model, batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def interleaved_throughput(
    model,
    paddings: list,
    step: Callable,
    batches: list,
    *,
    rounds: int = 6,
    steps: int = 5,
    warmup: int = 2,
    lr: float = 1e-3,
    clock: str = "wall",
) -> dict:
    """Returns {padding: {"images_per_s": median over rounds, "spread": [min, max]}, "ratio":
    {padding: median per-round time ratio to the first padding}} for training steps of one model
    under each padding.

    One model is switched between paddings with set_padding (untimed, before each timed run), so
    every padding runs the same weights in the same memory. Each round runs `steps` steps per
    padding, in an order rotated every round. `clock` is "wall" or "process" (CPU time of this
    process, which other jobs on a shared machine do not inflate).
    """
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    calls = [0]

    def run():
        for _ in range(steps):
            _train_step(model, optimizer, step, batches[calls[0] % len(batches)])
            calls[0] += 1

    device = next(model.parameters()).device
    variants = {p: ((lambda p=p: set_padding(model, p)), run) for p in paddings}
    seconds = interleaved_times(
        variants, repeats=rounds, warmup=warmup, clocks=(clock,), device=device
    )[clock]
    images = steps * batches[0]["image"].shape[0]
    result = {
        n: {
            "images_per_s": images / statistics.median(s),
            "spread": [images / max(s), images / min(s)],
        }
        for n, s in seconds.items()
    }
    base = paddings[0]
    result["ratio"] = {
        n: statistics.median(a / b for a, b in zip(seconds[n], seconds[base])) for n in paddings
    }
    return result
