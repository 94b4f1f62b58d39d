"""seg.engine.throughput: zero vs partial training steps on one model, interleaved."""
import torch
import torch.nn as nn

from seg.engine.throughput import interleaved_throughput
from seg.layers import PartialConv2d


def step(model, batch):
    return model(batch["image"]).square().mean()


def test_every_padding_is_timed_on_the_same_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3, padding=1))
    seen = []
    model.register_forward_pre_hook(lambda m, _: seen.append(isinstance(m[0], PartialConv2d)))
    batches = [{"image": torch.randn(2, 3, 8, 8)}]
    result = interleaved_throughput(
        model, ["zeros", "partial"], step, batches, rounds=3, steps=2, warmup=1
    )
    assert set(result["ratio"]) == {"zeros", "partial"} and result["ratio"]["zeros"] == 1.0
    assert all(result[p]["images_per_s"] > 0 for p in ("zeros", "partial"))
    # warm-up and 3 rounds, 2 steps each per padding: both modes really ran, equally often
    assert seen.count(True) == seen.count(False) == 2 * (1 + 3)
