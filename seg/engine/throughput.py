"""Training throughput of several variants of a model, measured interleaved in one process.

Interleaving (A B B A ...) spreads any drift of the machine (other processes, clocks, caches) over
every variant alike, so their ratio is fair even on a shared machine where absolute numbers move.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def training_step_seconds(model, optimizer, step: Callable, batch) -> float:
    """Returns the wall time of one forward + loss + backward + optimiser step."""
    tic = time.perf_counter()
    loss = step(model, batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if next(model.parameters()).is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - tic


def interleaved_throughput(models: dict, step: Callable, batches: list, *, rounds: int = 6,
                           steps: int = 5, warmup: int = 2, lr: float = 1e-3) -> dict:
    """Returns {name: {"images_per_s": median over rounds, "spread": [min, max]}, "ratio": {name: median
    per-round time ratio to the first model}} for training steps of each model on the same batches.

    Each round runs `steps` steps of every model, in an order reversed every other round.
    """
    optimizers = {n: torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9) for n, m in models.items()}
    names = list(models)
    for name in names:
        models[name].train()
        for i in range(warmup):
            training_step_seconds(models[name], optimizers[name], step, batches[i % len(batches)])
    seconds = {n: [] for n in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            t = sum(training_step_seconds(models[name], optimizers[name], step, batches[(r * steps + i) % len(batches)])
                    for i in range(steps))
            seconds[name].append(t)
    images = steps * batches[0]["image"].shape[0]
    result = {n: {"images_per_s": images / statistics.median(s), "spread": [images / max(s), images / min(s)]}
              for n, s in seconds.items()}
    base = names[0]
    result["ratio"] = {n: statistics.median(a / b for a, b in zip(seconds[n], seconds[base])) for n in names}
    return result
