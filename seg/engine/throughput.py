"""Training throughput of several variants of a model, measured interleaved in one process.

Interleaving (seg.benchmark.timing) spreads any drift of the machine (other processes, clocks,
caches) over every variant alike, so their ratio is fair even on a shared machine where
absolute numbers move.
"""
from __future__ import annotations

import statistics
from typing import Callable

import torch

from seg.benchmark.timing import interleaved_times, time_call


def _train_step(model, optimizer, step: Callable, batch) -> None:
    loss = step(model, batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def training_step_seconds(model, optimizer, step: Callable, batch) -> float:
    """Returns the wall time of one forward + loss + backward + optimiser step."""
    device = next(model.parameters()).device
    return time_call(lambda: _train_step(model, optimizer, step, batch), device=device)["wall"]


def interleaved_throughput(models: dict, step: Callable, batches: list, *, rounds: int = 6,
                           steps: int = 5, warmup: int = 2, lr: float = 1e-3) -> dict:
    """Returns {name: {"images_per_s": median over rounds, "spread": [min, max]}, "ratio": {name: median
    per-round time ratio to the first model}} for training steps of each model on the same batches.

    Each round runs `steps` steps of every model, in an order rotated every round.
    """
    optimizers = {n: torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9) for n, m in models.items()}
    names = list(models)
    for name in names:
        models[name].train()
        for i in range(warmup):
            _train_step(models[name], optimizers[name], step, batches[i % len(batches)])
    calls = {n: 0 for n in names}

    def run(name):
        for _ in range(steps):
            _train_step(models[name], optimizers[name], step, batches[calls[name] % len(batches)])
            calls[name] += 1

    device = next(models[names[0]].parameters()).device
    seconds = interleaved_times({n: (lambda n=n: run(n)) for n in names}, repeats=rounds, warmup=0,
                                device=device)["wall"]
    images = steps * batches[0]["image"].shape[0]
    result = {n: {"images_per_s": images / statistics.median(s), "spread": [images / max(s), images / min(s)]}
              for n, s in seconds.items()}
    base = names[0]
    result["ratio"] = {n: statistics.median(a / b for a, b in zip(seconds[n], seconds[base])) for n in names}
    return result
