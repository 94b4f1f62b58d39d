"""Checking a Cityscapes tree before training: every file readable, sizes equal, label ids known.

A bad validation label would otherwise crash the first validation thousands of iterations in,
before that iteration's checkpoint is written. The check decodes every file once and leaves a
marker named by the digest of the file list (paths, sizes, modification times), so the next start
with unchanged files skips it.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from seg.utils.errors import BadValueError
from seg.utils.files import write_text_atomic

from .cityscapes import IMAGE_SUFFIX, Sample, find_samples, load_sample
from .class_uniform import cache_key, default_cache_dir
from .splits import CITIES, fold_cities, original_split


def sample_problem(sample: Sample) -> str | None:
    """Returns why a sample cannot be used (unreadable, size mismatch, unknown label), or None."""
    try:
        load_sample(sample)
    except (OSError, ValueError) as err:
        return str(err)
    return None


def empty_city_folders(root: Path, split: str, *, fold: int, coarse: bool) -> list[str]:
    """Returns the city folders of a split that exist but hold no image (a failed extraction)."""
    cities = [(original_split(c), c) for c in fold_cities(fold)[split]]
    if coarse:
        cities += [("train_extra", c) for c in CITIES["train_extra"]]
    empty = []
    for directory, city in cities:
        folder = root / "leftImg8bit" / directory / city
        if folder.is_dir() and not any(folder.glob(f"*{IMAGE_SUFFIX}")):
            empty.append(
                f"{folder}: city folder without any *{IMAGE_SUFFIX}; re-extract it or remove the "
                "folder"
            )
    return empty


def check_data(
    root,
    *,
    fold: int = 0,
    coarse: bool = True,
    eval_split: str = "val",
    cache_dir=None,
    progress: bool = True,
) -> int:
    """Returns the number of files checked (0 when a marker says this file list passed before).

    Raises one BadValueError listing every bad file of the training (fine and coarse) and
    evaluation splits, each with its reason.
    """
    root = Path(root)
    samples = find_samples(root, "train", fold=fold, coarse=coarse)
    seen = set(samples)
    samples += [s for s in find_samples(root, eval_split, fold=fold) if s not in seen]
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir(root)
    marker = cache_dir / f"checked_{cache_key(samples, points_per_class=0)}.json"
    if marker.is_file():
        return 0
    problems = empty_city_folders(root, "train", fold=fold, coarse=coarse)
    problems += empty_city_folders(root, eval_split, fold=fold, coarse=False)
    # the decoders release the GIL, so threads read several files at once
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        found = pool.map(sample_problem, samples)
        problems += [
            p
            for p in tqdm(found, total=len(samples), desc="checking data", disable=not progress)
            if p
        ]
    if problems:
        raise BadValueError(
            f"{len(problems)} problem(s) in the data under {root} (nothing was trained):\n  "
            + "\n  ".join(problems)
            + "\nfix or remove these files, then start again (datasets/README.md)"
        )
    write_text_atomic(
        marker, json.dumps({"checked": len(samples), "names": [s.name for s in samples]})
    )
    return len(samples)
