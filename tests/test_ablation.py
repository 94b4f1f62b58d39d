"""Ablations of the padding gap: the gap-change interval by simulation, its value by hand, the
ablation file's errors, and tools/ablate.py end to end on the fast demo's runs."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from seg.diagnostics.ablation import compare_probes, load_ablation
from seg.evaluation.comparison import Group
from seg.evaluation.interaction import interaction, interaction_coverage
from seg.evaluation.per_image import PerImageStats, mean_iou
from seg.utils.errors import UserError

REPO = Path(__file__).resolve().parents[1]
CONFIG = "configs/deeplabv3plus_small_os8_partial_synthetic.yaml"


# --- the interval of the gap change, by simulation ------------------------------------------------


def test_gap_change_interval_holds_a_zero_interaction_about_95_percent_of_the_time():
    # Four groups with a padding gap and a main effect of the arm, but no interaction.
    holds, excludes = interaction_coverage(200, runs=3, seed=0)
    assert 0.89 <= holds <= 0.99
    assert excludes == pytest.approx(1 - holds)


def test_gap_change_interval_finds_a_known_interaction():
    # The arm adds 6 points to the partial model only: the interval must hold 6 and exclude 0.
    holds, excludes = interaction_coverage(60, runs=3, interaction=0.06, seed=1)
    assert holds >= 0.85 and excludes >= 0.8


# --- the numbers themselves, from counts summed by hand -------------------------------------------


def fake_group(name, rng, runs, ratio):
    union = rng.integers(50, 100, size=(runs, 5, 2, 3))
    intersection = np.round(union * np.clip(ratio + rng.normal(0, 0.05, union.shape), 0, 1))
    stats = [
        PerImageStats([f"img{i}" for i in range(5)], ["regular/leave_out/0", "tile/leave_out/0"],
                      ["a", "b", "c"], intersection[r].astype(np.int64), union[r],
                      {"split": "val", "fold": 0})
        for r in range(runs)
    ]
    return Group(name, [f"seed {r}" for r in range(runs)], stats)


def test_gaps_and_their_change_are_differences_of_mean_miou():
    rng = np.random.default_rng(0)
    ratios = {("base", "zeros"): 0.6, ("base", "partial"): 0.55, ("arm", "zeros"): 0.6,
              ("arm", "partial"): 0.65}
    groups = {key: fake_group("/".join(key), rng, 3, ratio) for key, ratio in ratios.items()}
    result = interaction(groups, arms=["base", "arm"], paddings=("zeros", "partial"),
                         base="base", resamples=300)

    def mean(key):  # mean over runs of each run's mIoU from its counts summed over images
        return np.mean([mean_iou(*s.totals()) for s in groups[key].stats], 0)

    gap = {arm: mean((arm, "partial")) - mean((arm, "zeros")) for arm in ("base", "arm")}
    np.testing.assert_allclose(result["arms"]["base"]["gap"]["value"], gap["base"])
    np.testing.assert_allclose(result["arms"]["arm"]["gap_change"]["value"],
                               gap["arm"] - gap["base"])
    np.testing.assert_allclose(result["arms"]["arm"]["padding_change"]["partial"]["value"],
                               mean(("arm", "partial")) - mean(("base", "partial")))
    assert "gap_change" not in result["arms"]["base"]
    low, high = result["arms"]["arm"]["gap_change"]["interval"]
    assert all(lo <= v <= hi for lo, v, hi in zip(low, gap["arm"] - gap["base"], high))


def test_probe_comparison_is_the_difference_of_mean_errors():
    def probe(errors):
        return {"noise": {"aspp": {"per_image": list(errors), "baseline": 0.25}}}

    zeros = [probe([0.10, 0.12, 0.11]), probe([0.09, 0.10, 0.13])]
    partial = [probe([0.20, 0.22, 0.21]), probe([0.19, 0.20, 0.23])]
    (row,) = compare_probes({"zeros": zeros, "partial": partial}, ("zeros", "partial"),
                            resamples=500)
    assert row["mean"][0] == pytest.approx(np.mean([0.11, 0.10 + 2 / 300]))
    assert row["diff"] == pytest.approx(0.10)
    assert row["interval"][0] > 0 and row["runs"] == [2, 2] and row["images"] == 3


# --- the ablation file: one clear line for each mistake -------------------------------------------


def write_ablation(path, **changes):
    spec = {"config": CONFIG, "seeds": [0], "paddings": ["zeros", "partial"], "base": "recipe",
            "arms": {"recipe": [], "past": ["data.crop_past_border=true"]}}
    spec.update(changes)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize("changes, message", [
    ({"seed": [0]}, "unknown key(s) ['seed']"),
    ({"paddings": ["zeros"]}, "give two"),
    ({"base": "nothing"}, "base 'nothing' is not one of the arms"),
    ({"arms": {"recipe": [], "bad": ["data.crop_past_bordr=true"]}}, "arm bad:"),
    ({"arms": {"recipe": {"overides": []}}}, "unknown key(s) ['overides']"),
    ({"probe": {"arms": ["nope"]}}, "probe arms ['nope']"),
])
def test_bad_ablation_file_is_one_clear_error(tmp_path, changes, message):
    with pytest.raises(UserError) as error:
        load_ablation(write_ablation(tmp_path / "a.yaml", **changes))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_shipped_ablation_file_loads():
    ablation = load_ablation(REPO / "configs/ablations/synthetic_gap.yaml")
    assert ablation.base == "recipe" and ablation.paddings == ("zeros", "partial")
    assert ablation.arm("recipe").overrides == [] and len(ablation.seeds) >= 3
    assert all("data.crop_past_border=true" in a.overrides for a in ablation.arms[1:])


# --- end to end: the fast demo's runs are the base arm, one new arm is trained --------------------


@pytest.mark.slow
def test_ablate_reuses_the_demo_and_reports_every_arm(demo, tmp_path):
    demo_out, _, data = demo
    fast = ["train.iterations=4", "train.batch_size=2", "train.log_every=2",
            "train.checkpoint_every=2", "eval.every=2", "data.crop_size=64", f"data.root={data}"]
    spec = write_ablation(
        tmp_path / "tiny.yaml", seeds=[0], overrides=fast,
        arms={"recipe": {"folder": str(demo_out), "overrides": []},
              "past": ["data.crop_past_border=true", "train.masked_batchnorm=true"]},
        eval={"tile": 64}, probe={"arms": ["recipe"], "images": 6, "size": [64, 128]})
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "tools/ablate.py", str(spec), "--out", str(out),
                           "--jobs", "2", "--resamples", "200"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # The demo's runs were complete: nothing of them is trained again.
    assert "all 2 runs under" in done.stdout and "training 2 of 2 runs" in done.stdout
    result = json.loads((out / "ablation.json").read_text())
    assert result["order"] == ["recipe", "past"] and set(result["crop_padding"]) == {"recipe",
                                                                                      "past"}
    assert len(result["arms"]["past"]["gap_change"]["value"]) == len(result["columns"])
    assert {row["kind"] for row in result["probe"]["recipe"]} == {"uniform", "noise", "real"}
    report = (out / "ablation.md").read_text()
    for title in ("## Padding in the training crops", "## Regular", "## What the intervals say",
                  "## Position probe, arm `recipe`", "`past`:"):
        assert title in report, title
    assert report.strip() in done.stdout
