"""The padding diagnostics against answers known without running the code under test.

* A circular-padding, stride-1 network is exactly equivariant under circular shifts; cropped
  shifts agree exactly wherever both crops hold the whole receptive field.
* A network without padding cannot tell positions apart on uniform images: no readout beats the
  best constant; features that hold the x, y map are read back almost exactly.
* A 3x3 all-ones conv on ones gives 4 at corners, 6 on edges and 9 inside.
* A zero canvas around the image is exactly zero padding for one padded conv.
* A partial-padding DeepLabV3+ given the image's mask predicts in the canvas exactly what it
  predicts alone (seg.models.valid_region keeps each image's own region), at any margin.
"""
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn

from seg.classification.models import build_classifier
from seg.diagnostics.border import activation_profile, border_profile
from seg.diagnostics.inputs import synthetic_images
from seg.diagnostics.invariance import padding_invariance
from seg.diagnostics.position import fit_readout, position_probe, position_targets
from seg.diagnostics.run import run_diagnostics, write_report
from seg.diagnostics.shift import shift_consistency
from seg.layers import set_padding
from seg.models.build import build_model
from seg.utils.errors import run_cli

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]


def tiny_segmenter(padding=1, classes=5, seed=0):
    """Stride-1 convs: receptive radius 2 * padding (3x3 convs, dilation 1)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=padding), nn.ReLU(),
                         nn.Conv2d(8, classes, 3, padding=padding)).eval()


def test_circular_padding_is_exactly_shift_equivariant():
    model = set_padding(tiny_segmenter(), "circular")
    images = torch.randn(3, 3, 24, 32)
    result = shift_consistency(model, images, shifts=(1, 3, 5), circular=True)
    for shift in (1, 3, 5):
        assert result["overall"][shift][0] == 1.0
    zeros = shift_consistency(set_padding(model, "zeros"), images, shifts=(3,), circular=True)
    assert zeros["by_distance"][3][0] < 1.0  # the test can fail: zero padding is not


def test_cropped_shifts_agree_where_both_crops_see_the_whole_window():
    model = tiny_segmenter()  # receptive radius 2: distance >= 2 has no padding in its window
    images = torch.randn(3, 3, 40, 48)
    result = shift_consistency(model, images, shifts=(1, 4, 8))
    for shift in (1, 4, 8):
        by_distance = np.asarray(result["by_distance"][shift])
        assert np.all(by_distance[2:][~np.isnan(by_distance[2:])] == 1.0)
        assert by_distance[0] < 1.0


def dilated_net(padded: bool):
    """Receptive radius 13: on a 48x64 input every padded pixel's window reaches a border."""
    torch.manual_seed(0)
    layers = []
    for index, dilation in enumerate((1, 4, 8)):
        layers += [nn.Conv2d(3 if index == 0 else 16, 16, 3, padding=dilation * padded,
                             dilation=dilation), nn.ReLU()]
    return nn.Sequential(*layers).eval()


def test_position_probe_cannot_beat_a_constant_without_padding():
    inputs = {"uniform": synthetic_images("uniform", 12, (48, 64))}
    without = position_probe(dilated_net(False), inputs, ["3", "5"])["uniform"]
    with_padding = position_probe(dilated_net(True), inputs, ["3", "5"])["uniform"]
    for layer in ("3", "5"):
        error, baseline = without[layer]["error"][0], without[layer]["baseline"]
        assert error >= baseline - 1e-9
    # the test can fail: zero padding hands the readout the border
    assert with_padding["5"]["error"][0] < 0.9 * with_padding["5"]["baseline"]


def test_readout_recovers_position_held_in_the_features():
    targets = position_targets(12, 20)
    full = torch.zeros(2, 12, 20)
    full[0] = ((torch.arange(20) + 0.5) / 20).view(1, -1)
    full[1] = ((torch.arange(12) + 0.5) / 12).view(-1, 1)
    features = full.expand(9, -1, -1, -1) + 0.01 * torch.randn(9, 2, 12, 20)
    error, baseline = fit_readout(features[:6], features[6:])
    assert targets.shape == (2, 10, 18) and error.max() < 0.02
    # the best constant, by brute force over candidate constants, axis by axis
    candidates = torch.linspace(0, 1, 2001).view(-1, 1)
    best = [(targets[axis].flatten() - candidates).abs().mean(1).min() for axis in (0, 1)]
    assert baseline == pytest.approx(float(sum(best) / 2), abs=1e-3)


def test_border_profile_of_an_all_ones_conv():
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    nn.init.ones_(conv.weight)
    model = nn.Sequential(conv).eval()
    images = torch.ones(2, 1, 8, 8)
    row = border_profile(model, images, ["0"])["0"]
    assert row["profile"][:2] == pytest.approx([(4 * 4 + 24 * 6) / 28, 9.0])
    assert row["ratio"][0] == pytest.approx((160 / 28) / 9)
    set_padding(model, "circular")
    profile, ratios = activation_profile(model(images).detach())
    assert np.allclose(ratios, 1.0) and np.allclose(profile, 9.0)


def test_zero_canvas_is_zero_padding_for_one_padded_conv():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 5, 1)).eval()
    images = torch.randn(4, 3, 20, 24)
    assert all(stat[0] == 0.0 for stat in padding_invariance(model, images, (3, 8)).values())
    changed = padding_invariance(set_padding(model, "replicate"), images, (3,))
    assert changed[3][0] > 0  # the test can fail: replicate padding is not a zero canvas


def test_partial_model_with_mask_is_exactly_canvas_invariant():
    # margin 3 is no multiple of the output stride: an image placed anywhere but the top-left
    # corner would be sampled on another grid by the strided convs and change predictions
    torch.manual_seed(0)
    model = build_model("deeplabv3plus_small", num_classes=5, padding="partial").eval()
    images = torch.randn(2, 3, 37, 53)
    assert all(stat[0] == 0.0 for stat in padding_invariance(model, images, (3, 8)).values())
    changed = padding_invariance(model, images, (3,), use_valid=False)
    assert changed[3][0] > 0  # the test can fail: without the mask the canvas is read


def test_report_and_skipped_modes(tmp_path):
    # reflect cannot pad 2 on a 1-pixel-high map: that mode is reported as not run
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(4, 4, 3, stride=8, padding=1), nn.ReLU(),
                          nn.Conv2d(4, 5, 5, padding=2)).eval()
    images = torch.randn(4, 3, 12, 40)
    results = run_diagnostics(model, images, modes=["zeros", "reflect", "partial"],
                              layers=["1", "3"], shifts=(1, 2), margins=(2,), log=lambda _: None)
    assert set(results["skipped"]) == {"reflect"}
    assert set(results["border"]) == {"zeros", "partial"}
    written = write_report(results, tmp_path / "report")
    assert {p.name for p in written} == {"shift.md", "shift.png", "position.md", "position.png",
                                         "border.md", "border.png", "invariance.md",
                                         "invariance.png", "diagnostics.json"}
    assert "Not run in reflect mode" in (tmp_path / "report" / "border.md").read_text()
    with pytest.raises(Exception, match="already holds files"):
        write_report(results, tmp_path / "report")


@pytest.mark.slow
def test_tool_on_torchvision_classifiers_and_their_checkpoints(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(6):
        cv2.imwrite(str(folder / f"{index}.png"), rng.integers(0, 255, (40, 56, 3), np.uint8))
    main = runpy.run_path(str(REPO / "tools" / "diagnose.py"))["main"]
    common = ["--images", str(folder), "--size", "32", "48", "--num-images", "3",
              "--probe-images", "6", "--shifts", "1", "8", "--layers", "layer1", "layer2"]
    assert run_cli(main, ["--torchvision", "resnet18", "--paddings", "zeros", "symmetric",
                          *common, "--out", str(tmp_path / "tv")]) == 0
    assert "| zeros | 8 |" in (tmp_path / "tv" / "shift.md").read_text()
    # A tools/train_classifier.py checkpoint runs in its stored padding by default.
    model = build_classifier("resnet18", num_classes=10, padding="partial")
    config = {"model": {"name": "resnet18", "num_classes": 10, "padding": "partial"}}
    torch.save({"model": model.state_dict(), "config": config}, tmp_path / "run.pth")
    assert run_cli(main, ["--checkpoint", str(tmp_path / "run.pth"), *common,
                          "--out", str(tmp_path / "ckpt")]) == 0
    assert "| layer | partial |" in (tmp_path / "ckpt" / "border.md").read_text()
    assert run_cli(main, ["--torchvision", "resnet18", "--paddings", "mirror", *common,
                          "--out", str(tmp_path / "bad")]) == 2
    assert "error: --paddings ['mirror']" in capsys.readouterr().err
