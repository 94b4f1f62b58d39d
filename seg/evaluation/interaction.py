"""Ablations of a padding gap: does changing one factor of the recipe change partial − zeros?

An ablation is a set of arms (the recipe, and the recipe with one factor changed), each trained
for the same seeds under both paddings and evaluated on the same images. For every arm and
column this returns

- the arm's gap, partial − zeros (the comparison of seg.evaluation.comparison within the arm);
- the change of the gap from the base arm, (arm partial − arm zeros) − (base partial − base
  zeros): the interaction of the factor with the padding, the number that says whether the
  factor carries the gap;
- each padding's own change, arm − base, per padding (does the factor help or hurt at all).

Every interval comes from one joint paired hierarchical bootstrap of all arms x paddings
(seg.evaluation.bootstrap): the same image draw serves every group, runs are resampled within
each group, so image difficulty cancels in every difference.
"""

from __future__ import annotations

import numpy as np

from seg.evaluation.bootstrap import bootstrap_groups, percentile_interval
from seg.evaluation.comparison import Group, _nanmean, _plain, _stack, check_pairable
from seg.evaluation.simulate import simulate_arms


def interaction(
    groups: dict[tuple[str, str], Group],
    *,
    arms: list[str],
    paddings: tuple[str, str],
    base: str,
    resamples: int = 2000,
    seed: int = 0,
) -> dict:
    """Return every number of the ablation as lists (JSON-ready).

    groups: {(arm, padding): Group} for every arm and both paddings; paddings: (reference,
    other), differences are other − reference; base: the arm the others are measured against.
    """
    if base not in arms:
        raise ValueError(f"base arm {base!r} is not one of the arms {arms}")
    keys = [(arm, padding) for arm in arms for padding in paddings]
    missing = [key for key in keys if key not in groups]
    if missing:
        raise ValueError(f"no runs for {missing}")
    columns = check_pairable([groups[key] for key in keys])
    stats = dict(
        zip(
            keys,
            bootstrap_groups(
                [_stack(groups[key], columns) for key in keys], resamples=resamples, seed=seed
            ),
        )
    )
    ref, other = paddings

    def gap(arm, resampled=True):
        field = "resampled" if resampled else "mean"
        return getattr(stats[arm, other], field) - getattr(stats[arm, ref], field)

    def entry(value, resampled):
        low, high = percentile_interval(resampled)
        return {"value": _plain(value), "interval": [_plain(low), _plain(high)]}

    out_arms = {}
    for arm in arms:
        item = {
            "groups": {
                padding: {
                    "runs": groups[arm, padding].labels,
                    "scores": _plain(stats[arm, padding].runs),
                    "mean": _plain(stats[arm, padding].mean),
                    "std": _plain(stats[arm, padding].std),
                    "class_mean": _plain(_nanmean(stats[arm, padding].class_runs)),
                }
                for padding in paddings
            },
            "gap": entry(gap(arm, False), gap(arm)),
        }
        if arm != base:
            item["gap_change"] = entry(
                gap(arm, False) - gap(base, False), gap(arm) - gap(base)
            )
            item["padding_change"] = {
                padding: entry(
                    stats[arm, padding].mean - stats[base, padding].mean,
                    stats[arm, padding].resampled - stats[base, padding].resampled,
                )
                for padding in paddings
            }
        out_arms[arm] = item
    first = groups[keys[0]].stats[0]
    return {
        "arms": out_arms,
        "order": list(arms),
        "base": base,
        "paddings": list(paddings),
        "columns": columns,
        "classes": first.classes,
        "num_images": len(first.images),
        "split": first.meta.get("split"),
        "fold": first.meta.get("fold"),
        "resamples": resamples,
        "seed": seed,
    }


def excludes_zero(entry: dict, k: int) -> bool | None:
    """Return whether the interval of column k excludes 0 (None: no score)."""
    low, high = entry["interval"][0][k], entry["interval"][1][k]
    if low is None or high is None:
        return None
    return bool(low > 0 or high < 0)


def interaction_coverage(
    trials: int, *, interaction: float = 0.0, runs: int = 3, resamples: int = 400, seed=0
) -> tuple[float, float]:
    """Return (share of trials whose gap-change interval holds the truth, share excluding 0),
    on ablations simulated with a known interaction (seg.evaluation.simulate.simulate_arms)."""
    rng = np.random.default_rng(seed)
    holds = excludes = 0
    for trial in range(trials):
        groups = simulate_arms(rng, runs=runs, interaction=interaction)
        zeros, partial, arm_zeros, arm_partial = bootstrap_groups(
            groups, resamples=resamples, seed=trial
        )
        change = (arm_partial.resampled - arm_zeros.resampled) - (
            partial.resampled - zeros.resampled
        )
        low, high = percentile_interval(change)
        holds += bool(low[0] <= 100 * interaction <= high[0])
        excludes += bool(low[0] > 0 or high[0] < 0)
    return holds / trials, excludes / trials
