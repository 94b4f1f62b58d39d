"""Means with a 95% bootstrap interval over images, the unit the diagnostics sample."""
import numpy as np


def interval(values, resamples: int = 2000, seed: int = 0) -> tuple:
    """Returns (mean, low, high): the mean of per-image values and its 95% percentile bootstrap
    interval over images (NaN bounds for fewer than two images)."""
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (resamples, len(values)))].mean(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return mean, float(low), float(high)


def cell(stat, digits: int = 3, scale: float = 1.0) -> str:
    """Returns 'mean [low, high]' for a table."""
    mean, low, high = (x * scale for x in stat)
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
