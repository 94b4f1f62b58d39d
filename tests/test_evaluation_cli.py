"""tools/evaluate.py end to end on a tiny synthetic Cityscapes: tables, JSON, --padding,
--dump/--predictions."""
import json
import sys
from pathlib import Path

import pytest
import torch

from seg.config import Config, ModelConfig, config_to_dict
from seg.data import build_eval_dataset
from seg.data.synthetic import make_synthetic
from seg.engine.segmentation import load_model
from seg.evaluation import evaluate, predict_regular
from seg.models import build_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import evaluate as evaluate_tool  # noqa: E402  (tools/evaluate.py)


def save_checkpoint(path, padding, seed):
    torch.manual_seed(seed)
    cfg = Config(model=ModelConfig(name="deeplabv3plus_small", padding=padding))
    model = build_model(
        **{k: v for k, v in config_to_dict(cfg)["model"].items() if k != "pretrained_backbone"}
    )
    for m in model.modules():  # non-trivial BatchNorm statistics, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    torch.save({"model": model.state_dict(), "config": config_to_dict(cfg), "iteration": 0}, path)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_synthetic(root, train=0, val=3, extra=0, size=(64, 128), seed=0)
    ckpts = tmp_path_factory.mktemp("ckpt")
    return (
        root,
        save_checkpoint(ckpts / "small_zero.pth", "zeros", 0),
        save_checkpoint(ckpts / "small_partial.pth", "partial", 1),
    )


def test_padding_override_changes_predictions_not_weights(setup):
    root, _, partial = setup
    stored = torch.load(partial, weights_only=True)["model"]
    as_trained, _ = load_model(partial)
    as_zeros, _ = load_model(partial, padding="zeros")
    for model in (as_trained, as_zeros):
        state = model.state_dict()
        assert all(torch.equal(state[k], v) for k, v in stored.items())
    image = build_eval_dataset(root, "val")[0]["image"][None]
    a, b = predict_regular(as_trained, image), predict_regular(as_zeros, image)
    diff = (a - b).abs().amax(1)[0]
    assert diff.max() > 1e-3
    # The change starts at the border, where the padding is: strongest on the outermost pixels.
    assert diff[:, :2].mean() > diff[28:36, 56:72].mean()


@pytest.mark.slow
def test_cli_tables_json_and_prediction_round_trip(setup, tmp_path, capsys):
    root, zero, partial = setup
    out = tmp_path / "both.json"
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
            "tile_overlap",
            "--tile",
            "64",
            "--leave-out",
            "0",
            "1/3",
            "1/2",
            "7/8",
            "--json",
            str(out),
            "--no-progress",
            "--dump-predictions",
            str(tmp_path / "dump"),
            "--out",
            str(tmp_path / "each"),
        ]
    )
    printed = capsys.readouterr().out
    assert "| Run | Regular | 0 Tile overlap | 1/3 Tile overlap |" in printed
    assert "| Run | regular | 0 | 1/3 x 1/3 | 1/2 x 1/2 | 7/8 x 7/8 |" in printed
    both = json.loads(out.read_text())
    first, second = both["runs"]
    assert set(first["mIoU"]) == {"regular", "tile", "tile_overlap"}
    assert set(first["leave_out"]["tile"]) == {"0", "1/3", "1/2", "7/8"}
    assert first["leave_out"]["tile"]["0"] == first["mIoU"]["tile"]
    assert set(first["distance"]) == {"image_border", "tile_border"}
    assert set(first["distance"]["tile_border"]) == {"tile", "tile_overlap"}
    assert len(first["per_class_iou"]["regular"]) == 19 and first["num_images"] == 3
    # The diff row: second minus first, for the regular column and each proportion.
    diff_row = [line for line in printed.splitlines() if line.startswith("| diff")][0]
    cells = [c.strip() for c in diff_row.strip("|").split("|")][1:]
    expected = [second["mIoU"]["regular"] - first["mIoU"]["regular"]] + [
        second["leave_out"]["tile"][p] - first["leave_out"]["tile"][p]
        for p in ("0", "1/3", "1/2", "7/8")
    ]
    assert [float(c) for c in cells] == pytest.approx(expected, abs=1e-3)
    # --json's tables beside it; --out: one file per checkpoint, with the single-run schema; nothing
    # beside the checkpoints.
    assert out.with_suffix(".md").read_text().strip() in printed
    alone = json.loads((tmp_path / "each" / "small_zero_eval.json").read_text())
    assert alone["mIoU"] == first["mIoU"]
    assert (tmp_path / "each" / "small_zero_eval.md").is_file()
    assert not list(zero.parent.glob("*_eval*"))

    # The dumped PNGs, scored with no model (and by cityscapesscripts), give the same numbers.
    scored = evaluate_tool.main(
        [
            "--predictions",
            str(tmp_path / "dump" / "small_partial" / "tile_overlap"),
            "--data-root",
            str(root),
            "--no-progress",
            "--official",
        ]
    )[0]
    assert scored["mIoU"]["predictions"] == pytest.approx(second["mIoU"]["tile_overlap"], abs=1e-9)
    assert scored["official_averageScoreClasses"] == pytest.approx(
        second["mIoU"]["tile_overlap"], abs=1e-9
    )

    # --padding zeros on the partial checkpoint: other numbers, saved under another name.
    crossed = evaluate_tool.main(
        [
            "--checkpoint",
            str(partial),
            "--data-root",
            str(root),
            "--padding",
            "zeros",
            "--no-progress",
            "--out",
            str(tmp_path / "each"),
        ]
    )[0]
    assert crossed["padding"] == "zeros" and crossed["trained_padding"] == "partial"
    assert (tmp_path / "each" / "small_partial_eval_zeros.json").is_file()
    direct = evaluate(
        load_model(partial, padding="zeros")[0], build_eval_dataset(root, "val"), progress=False
    )
    assert crossed["mIoU"] == direct["mIoU"]


@pytest.mark.slow
def test_compiled_evaluation_scores_as_eager(setup, tmp_path):
    root, _, partial = setup
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()  # earlier tests' graphs are counted there too
    scores = []
    for extra in ([], ["--compile", "eager"]):  # "eager": Dynamo's graph without codegen
        runs = evaluate_tool.main(["--checkpoint", str(partial), "--data-root", str(root),
                                   "--no-progress", *extra])
        scores.append(runs[0]["mIoU"]["regular"])
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0
    assert scores[1] == pytest.approx(scores[0], abs=1e-6)
