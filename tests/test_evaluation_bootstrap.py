"""The bootstrap's intervals checked by simulation with a known answer; bookkeeping by hand."""

import math

import numpy as np
import pytest

from seg.evaluation.bootstrap import bootstrap_groups, percentile_interval, ratio_scores
from seg.evaluation.simulate import coverage, simulate_groups

TRIALS = 300


def binomial_band(p=0.95, trials=TRIALS, k=3.5):
    sd = math.sqrt(p * (1 - p) / trials)
    return p - k * sd, p + k * sd


@pytest.mark.parametrize(
    "runs, kwargs",
    [
        ((1, 1), dict(image_sd=0.05)),  # one run per group: the interval is over images only
        ((3, 3), dict(image_sd=0.05, seed_sd=0.002)),  # images dominate, a little seed spread
        (
            (3, 3),
            dict(image_sd=0.0, seed_sd=0.01),
        ),  # seeds alone: three of them, so the t factor matters
        ((5, 5), dict(image_sd=0.03, seed_sd=0.005, noise_sd=0.01)),
    ],
)
def test_null_interval_holds_zero_about_95_percent_of_the_time(runs, kwargs):
    holds, _ = coverage(TRIALS, runs=runs, images=100, seed=1, **kwargs)
    low, high = binomial_band()
    assert low <= holds <= high, f"coverage {holds:.3f} outside [{low:.3f}, {high:.3f}]"


def test_a_known_shift_is_found_and_covered():
    holds, excludes = coverage(
        200, runs=(3, 3), images=100, seed=2, shift=0.03, truth=0.03, image_sd=0.05, seed_sd=0.002
    )
    assert excludes > 0.95  # 3 points with these spreads: the interval leaves 0 out almost always
    low, _ = binomial_band(trials=200)
    assert holds >= low


def test_same_inputs_same_numbers_and_the_seed_matters():
    groups = simulate_groups(np.random.default_rng(0), runs=(2, 3), images=30, columns=2, classes=4)
    first = bootstrap_groups(groups, resamples=300, seed=7)
    again = bootstrap_groups(groups, resamples=300, seed=7)
    other = bootstrap_groups(groups, resamples=300, seed=8)
    assert all(np.array_equal(x.resampled, y.resampled) for x, y in zip(first, again))
    assert not np.array_equal(first[1].resampled, other[1].resampled)


def test_chunking_does_not_change_the_resamples():
    groups = simulate_groups(np.random.default_rng(0), runs=(2, 2), images=20, columns=3, classes=4)
    whole = bootstrap_groups(groups, resamples=100, seed=0, chunk=100)
    pieces = bootstrap_groups(groups, resamples=100, seed=0, chunk=7)
    for x, y in zip(whole, pieces):
        np.testing.assert_allclose(x.resampled, y.resampled, rtol=1e-12)


def test_observed_scores_are_ratios_of_sums_averaged_over_present_classes():
    # By hand: class 0 has 6/10 over both images, class 1 3/4, class 2 never occurs.
    intersection = np.array([[[[1, 3, 0]], [[5, 0, 0]]]])
    union = np.array([[[[4, 4, 0]], [[6, 0, 0]]]])
    (stats,) = bootstrap_groups([(intersection, union)], resamples=10)
    assert stats.runs[0, 0] == pytest.approx(100 * (6 / 10 + 3 / 4) / 2)
    score, per_class = ratio_scores(intersection.sum(1), union.sum(1))
    assert np.isnan(per_class[0, 0, 2]) and score[0, 0] == pytest.approx(67.5)


def test_one_run_groups_vary_with_images_only():
    groups = simulate_groups(np.random.default_rng(3), runs=(1, 1), images=40)
    a, b = bootstrap_groups(groups, resamples=200)
    low, high = percentile_interval(b.resampled - a.resampled)
    assert low[0] < b.mean[0] - a.mean[0] < high[0]
    assert np.isnan(a.std).all()
