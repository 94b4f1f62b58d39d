"""The benchmark: one interleaved timing loop, the mask-conv baseline, Table 1 rows in the JSON."""
import importlib.util
import json
import random
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from partial_reference import reference_partial_conv2d

from seg.benchmark.inference import inference_variants
from seg.benchmark.mask_conv import MaskConvPartialConv2d, clear_mask_conv_cache, use_padding
from seg.layers import PartialConv2d, get_padding_mode, ratio
from seg.utils.timing import interleaved_times, relative

spec = importlib.util.spec_from_file_location(
    "benchmark", Path(__file__).resolve().parents[1] / "tools" / "benchmark.py")
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)


def test_interleaved_times_rotates_and_sets_up_untimed():
    calls = []
    variants = {name: (lambda name=name: calls.append(f"setup {name}"),
                       lambda name=name: calls.append(name)) for name in "abc"}
    times = interleaved_times(variants, repeats=3, warmup=1, clocks=("wall", "process"))
    assert set(times) == {"wall", "process"}
    assert all(len(times[c][n]) == 3 for c in times for n in "abc")
    runs = [c for c in calls if not c.startswith("setup")]
    assert runs == list("abc" "abc" "bca" "cab")  # warm-up, then rotated repetitions
    assert all(calls[2 * i] == f"setup {calls[2 * i + 1]}" for i in range(len(calls) // 2))
    assert relative({"a": [1.0, 2.0, 3.0], "b": [2.0, 2.0, 6.0]}, "b", "a")[0] == 1.0


def test_first_iteration_starts_from_an_empty_cache(monkeypatch):
    cache_sizes, forward = [], PartialConv2d.forward

    def spy_forward(self, x):
        cache_sizes.append(len(ratio._PLANS))
        return forward(self, x)

    monkeypatch.setattr(PartialConv2d, "forward", spy_forward)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 1))
    variants = inference_variants(model, torch.randn(1, 3, 8, 8), segmentation=False)
    interleaved_times(variants, repeats=4, warmup=0)
    # Three partial variants per repetition (1st, steady, the other ratio path); only
    # "partial (1st)" finds the cache empty.
    assert len(cache_sizes) == 12 and cache_sizes.count(0) == 4
    assert type(model[1]) is nn.Conv2d  # the 1x1 conv is never switched


def random_geometry(rng):
    kernel = (rng.choice([1, 3, 5]), rng.choice([1, 3]))
    dilation, stride = (rng.randint(1, 2), 1), (rng.randint(1, 2), rng.randint(1, 2))
    padding = (rng.randint(1, 3), rng.randint(0, 3))
    return kernel, stride, padding, dilation


@pytest.mark.parametrize("bias", [True, False])
def test_mask_conv_baseline_equals_the_reference(bias):
    rng = random.Random(bias)
    torch.manual_seed(0)
    for _ in range(15):
        kernel, stride, padding, dilation = random_geometry(rng)
        conv = nn.Conv2d(4, 6, kernel, stride, padding, dilation, bias=bias).double()
        model = use_padding(nn.Sequential(conv), "maskconv")
        assert type(conv) is MaskConvPartialConv2d
        for batch, size in ((2, (9, 11)), (3, (9, 11)), (1, (7, 12))):  # every shape recomputes
            x = torch.randn(batch, 4, *size, dtype=torch.float64)
            expected, _ = reference_partial_conv2d(x, conv.weight, conv.bias, stride, padding,
                                                   dilation)
            torch.testing.assert_close(model(x), expected, rtol=1e-9, atol=1e-9)
            assert conv._ratio_shape == tuple(x.shape)  # keyed on the whole shape
        clear_mask_conv_cache(model)
        assert conv._ratio_shape is None


def test_use_padding_round_trip_shares_parameters():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 1))
    weight, keys = model[0].weight, list(model.state_dict())
    for mode in ("maskconv", "partial", "maskconv", "zeros", "maskconv", "reflect"):
        use_padding(model, mode)
        assert model[0].weight is weight and list(model.state_dict()) == keys
        assert type(model[2]) is nn.Conv2d  # padding 0: never switched
    assert get_padding_mode(model) == "reflect" and not hasattr(model[0], "_ratio")


def test_json_has_every_row(tmp_path):
    out = tmp_path / "bench.json"
    benchmark.main(["--models", "resnet50", "deeplabv3plus_resnet50", "--classifier-size", "32",
                    "32", "--segmentation-size", "32", "64", "--training-size", "32", "64",
                    "--training-model", "deeplabv3plus_small",
                    "--count-training-size", "32", "32", "--repeats", "1", "--json", str(out)])
    result = json.loads(out.read_text())
    variants = {"zero", "zero (A/A)", "partial (1st)", "partial", "partial (fused)",
                "maskconv (1st)", "maskconv"}
    blocks = {b["case"]["model"]: b for b in result["table1"]}
    assert set(blocks["resnet50"]["ms"]) == variants
    assert set(blocks["deeplabv3plus_resnet50"]["ms"]) == variants | {"mask 7/8", "mask -8px"}
    assert all(len(t) == 1 and t[0] > 0 for b in blocks.values() for t in b["raw_s"].values())
    training = result["training"]
    assert set(training["ms"]) == {"zero", "partial", "partial+mask", "zero (A/A)"}
    assert set(training["memory"]) == {"zero", "partial", "partial+mask"}
    assert all(m["peak_mib"] > m["above_setup_mib"] > 0 for m in training["memory"].values())
    counts = {c["model"]: c for c in result["op_counts"]}
    assert counts["resnet50"]["padded_convs"] == 17 and counts["resnet50"]["inference_input"] == [
        1, 3, 32, 32]
    for block in counts.values():
        for forward in ("inference", "training"):
            assert set(block[forward]) == {"zero", "partial strips", "partial fused", "maskconv"}
            assert block[forward]["partial fused"] - block[forward]["zero"] == block[
                "padded_convs"]
    targets = {t["target"] for t in result["targets"]}
    assert "training step partial vs zero" in targets and len(targets) == 10
