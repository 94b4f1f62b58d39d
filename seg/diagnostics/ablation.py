"""Ablation sweeps: which factor of a recipe carries the gap between two paddings.

An ablation file (configs/ablations/*.yaml) names one recipe, the seeds, the two paddings and a
set of arms, each the recipe with a few key=value overrides. Every arm is an ordinary sweep of
seg.engine.sweep (each run a tools/train.py run; finished runs skipped, interrupted ones
resumed), in <out>/<arm>/ or in the folder the arm names (an existing sweep of the same recipe,
such as the demo's, is reused as it is). Then:

- the padding in the training crops of each arm (share of crop pixels that are padding, crops
  with any), counted on up to 256 crops of epoch 0 of seed 0;
- seg.evaluation.interaction: each arm's gap, its change from the base arm and each padding's own
  change, with intervals from one joint bootstrap over seeds and images;
- the position probe (seg.diagnostics.position) of every model of the probed arms in its own
  padding, the two paddings compared over seeds and images with the same bootstrap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from seg.config import ConfigError, load_config, repo_path
from seg.diagnostics.ablation_report import ablation_markdown
from seg.diagnostics.inputs import default_layers, load_images, synthetic_images
from seg.diagnostics.position import position_probe
from seg.engine.segmentation import data_root_of, load_model, train_dataset_of
from seg.engine.sweep import plan_runs, run_sweep
from seg.evaluation.bootstrap import bootstrap_groups, percentile_interval
from seg.evaluation.comparison import Group, read_stats
from seg.evaluation.interaction import interaction
from seg.utils.errors import UserError
from seg.utils.files import write_text_atomic

MODES = ("regular", "tile", "tile_overlap")
LEAVE_OUT = ("0", "1/3", "1/2", "2/3", "3/4", "7/8")  # paper table 7
KEYS = {"config", "seeds", "paddings", "base", "arms", "overrides", "eval", "probe"}


@dataclass
class Arm:
    name: str
    overrides: list[str]
    folder: str | None = None  # an existing sweep folder to use instead of <out>/<name>


@dataclass
class Ablation:
    config: str
    seeds: list[int]
    paddings: tuple[str, str]
    base: str
    arms: list[Arm]
    overrides: list[str] = field(default_factory=list)  # for every arm
    modes: list[str] = field(default_factory=lambda: list(MODES))
    leave_out: list[str] = field(default_factory=lambda: list(LEAVE_OUT))
    tile: int = 1024
    probe_arms: list[str] = field(default_factory=list)
    probe_images: int = 24
    probe_size: tuple[int, int] = (128, 256)

    def arm(self, name: str) -> Arm:
        return next(a for a in self.arms if a.name == name)

    def overrides_of(self, arm: Arm) -> list[str]:
        """Returns what every run of the arm gets after the recipe: shared, then the arm's."""
        return [*self.overrides, *arm.overrides]

    def config_of(self, arm: Arm):
        """Returns the arm's resolved Config (a bad override raises ConfigError)."""
        return load_config(self.config, self.overrides_of(arm))


def load_ablation(path, overrides=()) -> Ablation:
    """Return the Ablation of a YAML file; a missing or unknown key is one clear UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such ablation file (see configs/ablations/)")
    data = yaml.safe_load(path.read_text()) or {}
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise UserError(f"{path}: unknown key(s) {unknown}; an ablation file has {sorted(KEYS)}")
    for key in ("config", "seeds", "paddings", "base", "arms"):
        if key not in data:
            raise UserError(f"{path}: missing key {key!r}")
    paddings = tuple(data["paddings"])
    if len(paddings) != 2:
        raise UserError(f"{path}: paddings {list(paddings)} — give two: reference, other")
    arms = []
    for name, spec in data["arms"].items():
        spec = {"overrides": spec} if isinstance(spec, list) else (spec or {})
        extra = sorted(set(spec) - {"overrides", "folder"})
        if extra:
            raise UserError(f"{path}: arm {name}: unknown key(s) {extra} (overrides, folder)")
        arms.append(Arm(str(name), [str(o) for o in spec.get("overrides") or []],
                        spec.get("folder")))
    if data["base"] not in [a.name for a in arms]:
        raise UserError(f"{path}: base {data['base']!r} is not one of the arms "
                        f"{[a.name for a in arms]}")
    evaluation = data.get("eval") or {}
    probe = data.get("probe") or {}
    ablation = Ablation(
        config=str(data["config"]),
        seeds=[int(s) for s in data["seeds"]],
        paddings=paddings,
        base=str(data["base"]),
        arms=arms,
        overrides=[str(o) for o in data.get("overrides") or []] + list(overrides),
        modes=list(evaluation.get("modes", MODES)),
        leave_out=[str(x) for x in evaluation.get("leave_out", LEAVE_OUT)],
        tile=int(evaluation.get("tile", 1024)),
        probe_arms=[str(a) for a in probe.get("arms", [])],
        probe_images=int(probe.get("images", 24)),
        probe_size=tuple(probe.get("size", (128, 256))),
    )
    bad = [a for a in ablation.probe_arms if a not in [arm.name for arm in arms]]
    if bad:
        raise UserError(f"{path}: probe arms {bad} are not arms")
    for arm in arms:  # every override checked before anything runs
        try:
            ablation.config_of(arm)
        except ConfigError as err:
            raise UserError(f"{path}: arm {arm.name}: {err}") from None
    return ablation


def arm_folder(ablation: Ablation, arm: Arm, out: Path) -> Path:
    return repo_path(arm.folder) if arm.folder else out / arm.name


def arm_runs(ablation: Ablation, arm: Arm, out: Path):
    return plan_runs(ablation.config, ablation.seeds, list(ablation.paddings),
                     ablation.overrides_of(arm), arm_folder(ablation, arm, out))


def crop_padding(ablation: Ablation, arm: Arm, *, seed: int = 0, crops: int = 256) -> dict:
    """Return {"pixels": share of crop pixels that are padding, "crops": share of crops with
    any} over the first `crops` crops of epoch 0 of the arm's training data for `seed` (what
    train.mask_propagation and train.masked_batchnorm act on)."""
    dataset = train_dataset_of(ablation.config_of(arm), seed=seed, progress=False)
    dataset.set_epoch(0)
    # A sample is enough for a share; a Cityscapes epoch is 2,975 full-size crops.
    holes = [1.0 - float(dataset[i]["valid"].mean()) for i in range(min(len(dataset), crops))]
    return {"pixels": float(np.mean(holes)), "crops": float(np.mean([h > 0 for h in holes]))}


def groups_of(ablation: Ablation, out: Path) -> dict:
    """Return {(arm, padding): Group} of every evaluated run."""
    groups = {}
    for arm in ablation.arms:
        runs = arm_runs(ablation, arm, out)
        for padding in ablation.paddings:
            mine = [r for r in runs if r.padding == padding]
            groups[arm.name, padding] = Group(
                f"{arm.name}/{padding}", [f"seed {r.seed}" for r in mine],
                [read_stats(r.run_dir / "last_eval.npz")[0][1] for r in mine])
    return groups


def probe_models(ablation: Ablation, out: Path, say=print) -> dict:
    """Return {arm: {padding: [probe result per seed]}}: seg.diagnostics.position on uniform,
    noise and real (val) images of the probe size, each model in its own padding."""
    size = ablation.probe_size
    results = {}
    for name in ablation.probe_arms:
        arm = ablation.arm(name)
        runs = arm_runs(ablation, arm, out)
        cfg = ablation.config_of(arm)
        root = data_root_of(cfg)
        inputs = {"uniform": synthetic_images("uniform", ablation.probe_images, size),
                  "noise": synthetic_images("noise", ablation.probe_images, size, seed=1),
                  "real": load_images(Path(root) / "leftImg8bit" / cfg.eval.split,
                                      ablation.probe_images, size)}
        results[name] = {p: [] for p in ablation.paddings}
        for run in runs:
            model, _ = load_model(run.checkpoint)
            results[name][run.padding].append(position_probe(model, inputs, default_layers(model)))
            say(f"position probe: {name}/{run.name} done")
    return results


def compare_probes(per_seed: dict, paddings, *, resamples=2000, seed=0) -> list[dict]:
    """Return rows (kind, layer) of the probe error: each padding's mean ± std over seeds and
    the difference other − reference with a 95% interval over seeds and images (the same
    held-out images for every model)."""
    ref, other = paddings
    first = per_seed[ref][0]
    rows = []
    for kind, layers in first.items():
        for layer in layers:
            arrays = []
            for padding in paddings:
                errors = np.array([probe[kind][layer]["per_image"] for probe in per_seed[padding]])
                # (runs, images, 1 column, 1 class): the mean of errors as a ratio of sums
                arrays.append((errors[..., None, None], np.ones_like(errors)[..., None, None]))
            a, b = bootstrap_groups(arrays, resamples=resamples, seed=seed)
            low, high = percentile_interval(b.resampled - a.resampled)
            rows.append({
                "kind": kind, "layer": layer, "baseline": first[kind][layer]["baseline"],
                "mean": [float(a.mean[0]) / 100, float(b.mean[0]) / 100],
                "std": [float(a.std[0]) / 100, float(b.std[0]) / 100],
                "diff": float(b.mean[0] - a.mean[0]) / 100,
                "interval": [float(low[0]) / 100, float(high[0]) / 100],
                "runs": [len(per_seed[ref]), len(per_seed[other])],
                "images": int(arrays[0][0].shape[1]),
            })
    return rows


def run_ablation(ablation: Ablation, out, *, jobs=1, executor="local", resamples=2000,
                 say=print, **sweep_kwargs) -> dict:
    """Return every number of the ablation after bringing every arm's sweep up to date; writes
    <out>/ablation.json and <out>/ablation.md."""
    out = repo_path(out)
    eval_args = ["--modes", *ablation.modes, "--leave-out", *ablation.leave_out,
                 "--tile", str(ablation.tile)]
    for arm in ablation.arms:
        say(f"\n== arm {arm.name}: {' '.join(arm.overrides) or '(the recipe as written)'}")
        run_sweep(ablation.config, seeds=ablation.seeds, paddings=list(ablation.paddings),
                  overrides=ablation.overrides_of(arm),
                  out=arm_folder(ablation, arm, out), jobs=jobs, executor=executor,
                  eval_args=eval_args, resamples=resamples, say=say, **sweep_kwargs)
    padding = {arm.name: crop_padding(ablation, arm) for arm in ablation.arms}
    result = interaction(groups_of(ablation, out), arms=[a.name for a in ablation.arms],
                         paddings=ablation.paddings, base=ablation.base, resamples=resamples)
    result["crop_padding"] = padding
    result["overrides"] = {arm.name: arm.overrides for arm in ablation.arms}
    result["probe"] = {
        name: compare_probes(per_seed, ablation.paddings, resamples=resamples)
        for name, per_seed in probe_models(ablation, out, say).items()
    }
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "ablation.json", json.dumps(result, indent=1) + "\n")
    write_text_atomic(out / "ablation.md", ablation_markdown(result))
    return result
