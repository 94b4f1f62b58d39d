"""Synthetic per-image counts with a known answer, to check the bootstrap's intervals by simulation.

Each image has a union of pixels per class; a run's intersection is union x p, where p is the
image's base ratio plus the group's shift, a per-image group effect (the paired difference
varies from image to image), a per-run seed offset and per-image run noise.
"""

from __future__ import annotations

import numpy as np

from seg.evaluation.bootstrap import bootstrap_groups, percentile_interval


def simulate_groups(
    rng,
    *,
    runs=(3, 3),
    images=100,
    columns=1,
    classes=3,
    shift=0.0,
    seed_sd=0.0,
    image_sd=0.05,
    noise_sd=0.0,
):
    """Return [(intersection, union)] int64 (runs, images, columns, classes) per group.

    B's ratios are A's plus `shift` (plus noise): the true difference of the means is about
    100 * shift.
    """
    union = rng.integers(500, 1500, size=(images, columns, classes))
    base = rng.uniform(0.4, 0.8, size=(images, columns, classes))
    paired = rng.normal(0.0, image_sd, size=(images, columns, classes))
    return [
        _runs(rng, union, base + effect + sign * paired / 2, m, seed_sd, noise_sd)
        for m, effect, sign in zip(runs, (0.0, shift), (-1.0, 1.0))
    ]


def _runs(rng, union, ratio, m, seed_sd, noise_sd):
    """Return (intersection, union) of m runs: each run's ratios are `ratio` plus one seed offset
    and per-image noise."""
    counts = []
    for _ in range(m):
        p = ratio + rng.normal(0.0, seed_sd)
        p = p + rng.normal(0.0, noise_sd, size=p.shape)
        counts.append(np.round(union * np.clip(p, 0.0, 1.0)).astype(np.int64))
    return np.stack(counts), np.broadcast_to(union, (m, *union.shape)).copy()


def coverage(trials, *, resamples=500, seed=0, truth=0.0, **kwargs):
    """Return the share of trials whose interval of B - A holds `truth`, and the share without 0."""
    rng = np.random.default_rng(seed)
    holds = excludes = 0
    for trial in range(trials):
        a, b = bootstrap_groups(simulate_groups(rng, **kwargs), resamples=resamples, seed=trial)
        low, high = percentile_interval(b.resampled - a.resampled)
        holds += bool(low[0] <= 100 * truth <= high[0])
        excludes += bool(low[0] > 0 or high[0] < 0)
    return holds / trials, excludes / trials


def simulate_arms(
    rng,
    *,
    runs=3,
    images=60,
    classes=3,
    gap=0.01,
    main=0.02,
    interaction=0.0,
    seed_sd=0.01,
    image_sd=0.05,
    noise_sd=0.02,
):
    """Return four groups [(intersection, union)]: base reference, base other, arm reference,
    arm other, every run trained independently on the same images.

    The other padding's ratios are the reference's plus `gap` (plus a per-image paired effect);
    the arm adds `main` to both paddings and `interaction` more to the other one, so the true
    change of the gap from base to arm is about 100 * interaction points.
    """
    union = rng.integers(500, 1500, size=(images, 1, classes))
    base = rng.uniform(0.4, 0.75, size=(images, 1, classes))
    paired = rng.normal(0.0, image_sd, size=(images, 1, classes))
    return [
        _runs(rng, union, base + shift + sign * paired / 2, runs, seed_sd, noise_sd)
        for arm_effect, extra in ((0.0, 0.0), (main, interaction))
        for shift, sign in ((arm_effect, -1.0), (arm_effect + gap + extra, 1.0))
    ]
