"""The run folder: one run per folder, stale temporaries removed, the config beside the checkpoints.

A new run never writes into a folder that holds another run's checkpoints: it continues that run
(train.resume=auto), goes elsewhere (another run_name) or replaces it when asked (train.overwrite).
"""

from __future__ import annotations

import json
import pathlib

import yaml

from seg.utils.errors import UserError
from seg.utils.files import write_text_atomic

CHECKPOINTS = ("last.pth", "best.pth")
# Everything a run writes, removed together on train.overwrite=true: no file describes the old run.
RUN_OUTPUTS = CHECKPOINTS + (
    "log.jsonl",
    "config.yaml",
    "summary.json",
    "events.out.tfevents.*",
    "*_eval*.json",
    "*_eval*.md",
)
# Settings that only say how this start proceeds; they are not part of the recipe.
START_KEYS = ("train.resume", "train.overwrite", "train.allow_padding_change")
# A checkpoint of another model cannot continue this run (model.padding can, when allowed).
ARCHITECTURE_KEYS = ("name", "num_classes", "padding", "output_stride")


def check_run_dir(run_dir, *, resuming: bool, overwrite: bool) -> None:
    """Raises when a fresh start (not resuming, not overwriting) would write over another run."""
    run_dir = pathlib.Path(run_dir)
    found = [name for name in CHECKPOINTS if (run_dir / name).is_file()]
    if found and not resuming and not overwrite:
        raise UserError(
            f"{run_dir} already holds another run ({', '.join(found)}) — continue it with "
            f"train.resume=auto, start a new one with run_name=<another name>, or replace it with "
            f"train.overwrite=true"
        )


def clear_run(run_dir) -> list[pathlib.Path]:
    """Returns the files of an earlier run removed from `run_dir` (train.overwrite=true)."""
    removed = []
    for pattern in RUN_OUTPUTS:
        for path in pathlib.Path(run_dir).glob(pattern):
            if path.is_file():
                path.unlink()
                removed.append(path)
    return removed


def remove_stale_temporaries(run_dir) -> list[pathlib.Path]:
    """Returns the temporary files of interrupted writes (.<name>.tmp<pid>) removed from `run_dir`.

    One process writes a run folder at a time, so at the start of a run none of them is in use.
    """
    removed = []
    for path in pathlib.Path(run_dir).glob(".*.tmp*"):
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def trim_log(run_dir, iteration: int) -> None:
    """Drops log.jsonl records after `iteration`: a resumed run logs those iterations again."""
    path = pathlib.Path(run_dir) / "log.jsonl"
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if line.strip() and _record_iteration(line) <= iteration]
    if len(kept) != len(lines):
        write_text_atomic(path, "".join(kept))


def _record_iteration(line: str) -> int:
    try:
        return int(json.loads(line).get("iteration", 0))
    except (ValueError, AttributeError):  # a line cut by a kill: drop it
        return 1 << 62


def write_config(run_dir, config: dict) -> pathlib.Path:
    """Returns <run_dir>/config.yaml after writing the resolved config of this start to it."""
    return write_text_atomic(
        pathlib.Path(run_dir) / "config.yaml", yaml.safe_dump(config, sort_keys=False)
    )


def flatten(config: dict, prefix: str = "") -> dict:
    """Returns {"train.lr": 0.01, ...}: the leaves of a nested config dict under dotted keys."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_changes(saved: dict, config: dict) -> list[str]:
    """Returns "key: checkpoint value -> config value" for every recipe value that differs."""
    old, new = flatten(saved or {}), flatten(config or {})
    return [
        f"{key}: {old.get(key, '<absent>')!r} -> {new.get(key, '<absent>')!r}"
        for key in sorted(set(old) | set(new))
        if key not in START_KEYS and old.get(key) != new.get(key)
    ]


def check_same_model(
    path, saved: dict, config: dict, *, allow_padding_change: bool = False
) -> None:
    """Raises when the checkpoint at `path` was trained with another model, class count or
    padding."""
    old, new = (saved or {}).get("model") or {}, (config or {}).get("model") or {}
    for key in ARCHITECTURE_KEYS:
        if key not in old or key not in new or old[key] == new[key]:
            continue
        if key == "padding" and allow_padding_change:
            continue
        hint = (
            " or fine-tune across paddings with train.allow_padding_change=true"
            if key == "padding"
            else ""
        )
        raise UserError(
            f"{path} was trained with model.{key}={old[key]!r} but this run has model.{key}="
            f"{new[key]!r} — resume from a checkpoint of the same model, set "
            f"model.{key}={old[key]!r}{hint}"
        )
