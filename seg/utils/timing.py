"""The one timing loop of the project: interleaved repetitions of several variants of a call.

Every benchmark here (the paper's Table 1, training steps, mask propagation, tiled inference,
training throughput) compares variants of one computation on a machine that may be shared and
noisy. Interleaving them within each repetition, in an order that rotates, puts any drift of the
machine (other jobs, clock boosts, caches) on every variant alike, so the ratio of two variants
within a repetition is fair even when absolute times move; the median over repetitions and the
interquartile range then give the ratio and its spread.
"""
import statistics
import time
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

import torch

# wall: elapsed time. process: CPU time of this process, which other jobs on a shared machine do
# not inflate (use it with one torch thread: idle-spinning worker threads would count too).
CLOCKS = {"wall": time.perf_counter, "process": time.process_time}

# A variant is run() or (setup(), run()): setup is not timed (switch a padding mode, clear a cache).
Variant = Union[Callable[[], object], Tuple[Optional[Callable[[], object]], Callable[[], object]]]


def _split(variant: Variant):
    return tuple(variant) if isinstance(variant, tuple) else (None, variant)


def time_call(run: Callable[[], object], clocks: Iterable[str] = ("wall",),
              device: Optional[torch.device] = None) -> Dict[str, float]:
    """Returns {clock: seconds} of one call of run().

    On a CUDA device the GPU is synchronised before and after, and the "wall" time is measured
    by CUDA events around the call (kernels run asynchronously, so a host clock would stop
    before they finish).
    """
    cuda = device is not None and torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        start_event, end_event = (torch.cuda.Event(enable_timing=True) for _ in range(2))
        start_event.record()
    starts = {clock: CLOCKS[clock]() for clock in clocks}
    run()
    if cuda:
        end_event.record()
        torch.cuda.synchronize(device)
    seconds = {clock: CLOCKS[clock]() - start for clock, start in starts.items()}
    if cuda and "wall" in seconds:
        seconds["wall"] = start_event.elapsed_time(end_event) / 1e3
    return seconds


def interleaved_times(variants: Dict[str, Variant], *, repeats: int, warmup: int = 1,
                      clocks: Iterable[str] = ("wall",),
                      device: Optional[torch.device] = None) -> Dict[str, Dict[str, List[float]]]:
    """Returns {clock: {variant: [seconds per repetition]}} of interleaved repetitions.

    warmup untimed rounds first (allocator, oneDNN kernel choice, caches); then repetition r
    runs every variant once, in the order rotated by r, calling each variant's setup (untimed)
    right before its timed run.
    """
    clocks = tuple(clocks)
    names = list(variants)
    parts = {name: _split(variants[name]) for name in names}

    def one(name):
        setup, run = parts[name]
        if setup is not None:
            setup()
        return time_call(run, clocks, device)

    for _ in range(warmup):
        for name in names:
            one(name)
    times = {clock: {name: [] for name in names} for clock in clocks}
    for rep in range(repeats):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            for clock, seconds in one(name).items():
                times[clock][name].append(seconds)
    return times


def spread(values: List[float]) -> Tuple[float, float]:
    """Returns (median, interquartile range) of values (IQR 0 for a single value)."""
    if len(values) < 2:
        return values[0], 0.0
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q2, q3 - q1


def relative(times: Dict[str, List[float]], name: str, base: str) -> Tuple[float, float]:
    """Returns (median - 1, IQR) of the within-repetition ratios times[name] / times[base]."""
    median, iqr = spread([t / b for t, b in zip(times[name], times[base])])
    return median - 1.0, iqr
