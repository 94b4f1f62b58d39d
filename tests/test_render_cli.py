"""tools/render.py end to end on a tiny synthetic Cityscapes with two small checkpoints (same
weights)."""
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from seg.config import Config, ModelConfig, config_to_dict
from seg.data import build_eval_dataset
from seg.data.synthetic import make_synthetic
from seg.engine.segmentation import load_model
from seg.evaluation import predict
from seg.models import build_model
from seg.visualize.selection import load_pair

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import evaluate as evaluate_tool  # noqa: E402  (tools/evaluate.py)
import render  # noqa: E402  (tools/render.py)

H, W, TILE = 64, 128, 64


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_synthetic(root, train=0, val=4, extra=0, size=(H, W), seed=0)
    ckpts = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    weights = build_model("deeplabv3plus_small", padding="zeros").state_dict()
    for m in weights:  # non-trivial BatchNorm statistics, as after training
        if m.endswith("running_var"):
            weights[m].uniform_(0.5, 2.0)
    paths = []
    for padding in ("zeros", "partial"):
        cfg = Config(model=ModelConfig(name="deeplabv3plus_small", padding=padding))
        paths.append(ckpts / f"small_{padding}.pth")
        torch.save({"model": weights, "config": config_to_dict(cfg), "iteration": 0}, paths[-1])
    return root, paths


def reference_pick(root, paths, num, band):
    # Independent of seg.visualize: the same models' tiled predictions, a brute-force border mask
    # (image border and the tile edge at x = 64), mean disagreement inside it, ties by name.
    models = [load_model(p)[0] for p in paths]
    y, x = np.mgrid[:H, :W]
    distance = np.minimum.reduce([y, H - 1 - y, np.where(x < TILE, np.minimum(x, TILE - 1 - x),
                                                         np.minimum(x - TILE, W - 1 - x))])
    near = torch.from_numpy(distance < band)
    scores = {}
    for item in build_eval_dataset(root, "val"):
        zero, partial = (
            predict(m, item["image"][None], "tile", tile=TILE).argmax(1)[0] for m in models
        )
        scores[item["name"]] = ((zero != partial) & near).sum().item() / near.sum().item()
    return sorted(scores, key=lambda n: (-scores[n], n))[:num], scores


@pytest.mark.slow
def test_compare_writes_paper_layout_pngs_and_deterministic_picks(setup, tmp_path):
    root, (zero, partial) = setup
    argv = [
        "compare",
        "--checkpoints",
        str(zero),
        str(partial),
        "--data-root",
        str(root),
        "--mode",
        "tile",
        "--tile",
        str(TILE),
        "--pick",
        "border-diff",
        "--num",
        "2",
        "--band",
        "8",
        "--panel-width",
        "256",
        "--out",
        str(tmp_path / "a"),
    ]
    written = render.main(argv)
    assert len(written) == 3 and written[-1].name == "contact_sheet_tile.png"
    picks = json.loads((tmp_path / "a" / "picks.json").read_text())
    expected, scores = reference_pick(root, (zero, partial), 2, band=8)
    assert picks["picked"] == expected
    assert picks["scores"] == pytest.approx(scores)
    assert len(set(scores.values())) > 1  # the pick is not a tie everywhere
    stems = [Path(n).name.replace("_leftImg8bit.png", "") for n in expected]
    assert [p.name for p in written[:2]] == [f"{s}_tile.png" for s in stems]
    for path in written[:2]:
        # 3 rows of 4 panels of 256 x 128 (the 64 x 128 image at 2x), gap 8, title bars 28, header
        # 36.
        assert cv2.imread(str(path)).shape == (36 + 3 * (28 + 128 + 8), 8 + 4 * (256 + 8), 3)
    sheet = cv2.imread(str(written[-1]))
    assert sheet.shape[1] == 6 + 4 * (256 + 6) and sheet.shape[0] > 2 * 128
    render.main(argv[:-1] + [str(tmp_path / "b")])
    assert (tmp_path / "b" / "picks.json").read_text() == (
        tmp_path / "a" / "picks.json"
    ).read_text()
    assert (tmp_path / "b" / written[0].name).read_bytes() == written[0].read_bytes()


def test_swapped_checkpoints_are_refused(setup):
    _, (zero, partial) = setup
    with pytest.raises(ValueError, match="--checkpoints ZERO PARTIAL"):
        load_pair(partial, zero)


@pytest.mark.slow
def test_activations_and_plots_from_evaluate_json(setup, tmp_path, capsys):
    root, (zero, partial) = setup
    written = render.main(
        [
            "activations",
            "--checkpoints",
            str(zero),
            str(partial),
            "--data-root",
            str(root),
            "--names",
            "frankfurt_000001",
            "--layers",
            "backbone.layer1.0.relu",
            "backbone.layer4.0.relu",
            "--out",
            str(tmp_path / "act"),
        ]
    )
    assert [p.name for p in written] == ["frankfurt_000001_000019_activations.png"]
    assert cv2.imread(str(written[0])) is not None
    render.main(
        [
            "activations",
            "--checkpoints",
            str(zero),
            str(partial),
            "--data-root",
            str(root),
            "--list-layers",
            "--out",
            str(tmp_path / "act"),
        ]
    )
    assert "backbone.layer4.0.relu" in capsys.readouterr().out.splitlines()

    result = tmp_path / "eval.json"
    evaluate_tool.main(
        [
            "--checkpoint",
            str(zero),
            str(partial),
            "--data-root",
            str(root),
            "--modes",
            "regular",
            "tile",
            "--tile",
            str(TILE),
            "--leave-out",
            "0",
            "1/3",
            "1/2",
            "--json",
            str(result),
            "--no-progress",
        ]
    )
    written = render.main(["plots", "--eval", str(result), "--out", str(tmp_path / "plots")])
    assert [p.name for p in written] == ["leave_out.png", "distance.png"]
    runs = json.loads(result.read_text())["runs"]
    plotted = json.loads((tmp_path / "plots" / "leave_out.json").read_text())
    for run in runs:
        label = f"{run['name']} / 0 Tile overlap"
        assert plotted[label]["y"] == [run["leave_out"]["tile"][p] for p in ("0", "1/3", "1/2")]
    distance = json.loads((tmp_path / "plots" / "distance.json").read_text())
    band_values = runs[1]["distance"]["tile_border"]["tile"]
    assert distance[f"tile_border: {runs[1]['name']}"] == {
        "x": list(band_values),
        "y": list(band_values.values()),
    }
