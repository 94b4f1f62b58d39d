"""tools/benchmark.py on a tiny model: interleaving, the cold first-iteration cache, the table."""
import importlib.util
from pathlib import Path

import torch
import torch.nn as nn

from seg.layers import PartialConv2d
from seg.layers import ratio

spec = importlib.util.spec_from_file_location(
    "benchmark", Path(__file__).resolve().parents[1] / "tools" / "benchmark.py")
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)


def test_measure_interleaves_modes_and_clears_the_cache_for_first():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 1))
    seen = []

    def spy(module, inputs, output):
        seen.append(type(module).__name__)

    model[0].register_forward_hook(spy)  # the hook stays on the module through every switch
    times = benchmark.measure(model, torch.randn(1, 3, 8, 8), repeats=4, warmup=0)
    assert {mode: len(t) for mode, t in times.items()} == {
        "zero": 4, "first": 4, "partial": 4, "zero2": 4}
    assert all(t > 0 for values in times.values() for t in values)
    assert seen.count("PartialConv2d") == 8 and seen.count("Conv2d") == 8
    assert type(model[1]) is nn.Conv2d  # the 1x1 conv is never switched


def test_first_iteration_starts_from_an_empty_cache(monkeypatch):
    cache_sizes = []
    forward = PartialConv2d.forward

    def spy_forward(self, x):
        cache_sizes.append(len(ratio._PLANS))
        return forward(self, x)

    monkeypatch.setattr(PartialConv2d, "forward", spy_forward)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1))
    benchmark.measure(model, torch.randn(1, 3, 8, 8), repeats=4, warmup=0)
    # Rotations: first runs at positions 1, 0, 3, 2; partial always right after or before it.
    assert cache_sizes.count(0) == 4  # exactly the four "first" forwards see an empty cache


def test_markdown_table_has_a_row_per_case():
    row = benchmark.Row("resnet50", 8, "224x224", 100.0, 101.0, 102.0, 0.01, 0.02, 0.0, 0.005,
                        0.01, 0.004, 9)
    table = benchmark.markdown([row, row]).splitlines()
    assert len(table) == 4 and "+1.00% (0.5)" in table[2] and "| resnet50 | 8 |" in table[3]
