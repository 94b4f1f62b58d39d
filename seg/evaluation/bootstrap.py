"""Paired hierarchical bootstrap of group means of IoU-like ratios: intervals over seeds and images.

Each run is given as per-image sufficient statistics: numerator and denominator counts (runs,
images, columns, classes) -- intersection and union for IoU, hits and ones for top-1. A run's
score for a column is the mean over classes of sum(numerator) / sum(denominator), the classes
with a nonzero denominator counted, exactly as the aggregate metric. One bootstrap resample:

1. images: draw N of the N images with replacement; the same draw serves every group, so image
   difficulty cancels in a difference (the pairing);
2. runs: within each group of m runs, draw m runs with replacement, independently per group.
   A group's value is the mean over all its runs plus a factor times the deviation of the drawn
   runs' mean from it. The factor is sqrt(m / (m - 1)) -- the plain bootstrap's variance of a
   mean of m values is (m - 1) / m of s^2 / m -- times t(0.975, df) / z(0.975), df = sum of
   (m - 1) over the groups: a seed spread estimated from a handful of runs is itself uncertain,
   and without this a 95% interval from 3 + 3 seeds held the truth in 88% of simulated trials
   (tools/benchmark_compare.py --coverage prints these numbers). A group of one run is
   resampled over images only.

The interval is the percentile interval of the resampled values. Every draw comes from one
numpy Generator seeded by `seed`, so the same inputs give the same numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass
class GroupStats:
    """One group's numbers per column (K) and per column and class (K, C), in percent."""

    runs: np.ndarray  # (m, K) each run's score
    class_runs: np.ndarray  # (m, K, C) each run's per-class ratio (NaN: class absent)
    resampled: np.ndarray  # (R, K) the group mean in each resample
    class_resampled: np.ndarray  # (R, K, C)

    @property
    def mean(self):
        return self.runs.mean(0)

    @property
    def std(self):
        """Sample (n - 1) standard deviation over runs; NaN for a single run."""
        if len(self.runs) < 2:
            return np.full(self.runs.shape[1:], np.nan)
        return self.runs.std(0, ddof=1)


def ratio_scores(numerator, denominator):
    """Return (score (..., K), per-class (..., K, C)) in percent from summed counts (..., K, C)."""
    present = denominator > 0
    per_class = np.where(present, numerator / np.maximum(denominator, 1), np.nan)
    count = present.sum(-1)
    total = np.where(present, per_class, 0.0).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * np.where(count > 0, total / count, np.nan), 100.0 * per_class


# Student's t 0.975 quantiles for 1..30 degrees of freedom; the normal one is Z975.
T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)
Z975 = 1.959964


def t975(df: int) -> float:
    """Return Student's t 0.975 quantile (a Cornish-Fisher expansion beyond the table's 30 df)."""
    if df <= len(T975):
        return T975[df - 1]
    z = Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def seed_factor(group_sizes, m):
    """Return the factor on a group's drawn-runs deviation (see the module doc); 0 for one run."""
    df = sum(k - 1 for k in group_sizes)
    return 0.0 if m < 2 else np.sqrt(m / (m - 1)) * t975(df) / Z975


def _group_mean(values, picks, factor):
    # values (r, m, ...), picks (r, m): the mean over all runs + the drawn runs' scaled deviation.
    r, m = picks.shape
    mean = values.mean(1)
    if m == 1:
        return mean
    drawn = np.take_along_axis(
        values, picks.reshape(r, m, *([1] * (values.ndim - 2))), axis=1
    ).mean(1)
    return mean + factor * (drawn - mean)


def draw_resamples(rng, resamples, num_images, group_sizes):
    """Return (image counts (R, N), [run picks (R, m) per group]): the draws of every resample."""
    counts = rng.multinomial(num_images, np.full(num_images, 1.0 / num_images), size=resamples)
    picks = [rng.integers(0, m, size=(resamples, m)) for m in group_sizes]
    return counts, picks


def bootstrap_groups(groups, *, resamples=2000, seed=0, chunk=200):
    """Return a GroupStats per group of (numerator, denominator) int arrays (runs, N, K, C).

    Every group has the same images N, columns K and classes C.

    Resample r of every group uses the same image counts, so group differences are paired.
    """
    if not groups:
        raise ValueError("no groups to resample")
    shapes = {g[0].shape[1:] for g in groups} | {g[1].shape[1:] for g in groups}
    if len(shapes) != 1:
        raise ValueError(f"groups differ in (images, columns, classes): {sorted(shapes)}")
    num_images, num_columns, num_classes = groups[0][0].shape[1:]
    rng = np.random.default_rng(seed)
    sizes = [len(num) for num, _ in groups]
    counts, picks = draw_resamples(rng, resamples, num_images, sizes)
    out = []
    for (numerator, denominator), pick in zip(groups, picks):
        m = len(numerator)
        factor = seed_factor(sizes, m)
        runs, class_runs = ratio_scores(numerator.sum(1), denominator.sum(1))
        # (N, m * K * C): one matrix product sums every run, column and class of a chunk.
        flat_num = np.moveaxis(numerator, 1, 0).reshape(num_images, -1).astype(np.float64)
        flat_den = np.moveaxis(denominator, 1, 0).reshape(num_images, -1).astype(np.float64)
        resampled = np.empty((resamples, num_columns))
        class_resampled = np.empty((resamples, num_columns, num_classes))
        for start in range(0, resamples, chunk):
            stop = min(start + chunk, resamples)
            weights = counts[start:stop].astype(np.float64)
            shape = (stop - start, m, num_columns, num_classes)
            score, per_class = ratio_scores(
                (weights @ flat_num).reshape(shape), (weights @ flat_den).reshape(shape)
            )
            resampled[start:stop] = _group_mean(score, pick[start:stop], factor)
            with np.errstate(invalid="ignore"):
                class_resampled[start:stop] = _group_mean(per_class, pick[start:stop], factor)
        out.append(GroupStats(runs, class_runs, resampled, class_resampled))
    return out


def percentile_interval(values):
    """Return the 95% interval (2.5th, 97.5th percentiles) of resamples (axis 0), NaN ignored."""
    tail = 2.5  # 95% only: seed_factor's t quantile is the 0.975 one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a class absent from every resample: NaN
        low, high = np.nanpercentile(values, [tail, 100.0 - tail], axis=0)
    return low, high
