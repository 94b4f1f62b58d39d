"""The launch-bound budget: partial padding dispatches at most one ATen op more per padded conv."""
import functools

import pytest
import torch
import torch.nn as nn

from seg.benchmark.inference import build_benchmark_model
from seg.benchmark.op_count import OpCounter, count_ops, forward_counts, padded_conv_count

pytestmark = pytest.mark.usefixtures("one_thread")
model = functools.lru_cache(maxsize=1)(build_benchmark_model)  # vgg16_bn takes seconds to build


def test_counter_sees_every_dispatched_op():
    x = torch.randn(2, 3)
    counts = count_ops(lambda: (x + 1).mul_(2).view(3, 2).sum(), warmup=0)
    assert counts == {"aten.add": 1, "aten.mul_": 1, "aten.view": 1, "aten.sum": 1}
    image, kernel = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3)
    with OpCounter() as counter:
        nn.functional.conv2d(image, kernel)
    assert counter.total() == 1  # conv2d reaches the kernels as one aten.convolution


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("name", [
    "resnet50", "vgg16_bn", "deeplabv3plus_resnet50",
    pytest.param("deeplabv3plus_wrn38", marks=pytest.mark.slow)])
def test_fused_path_costs_at_most_one_op_per_padded_conv(name, training):
    convs = padded_conv_count(model(name))
    # Batch 2: training-mode BatchNorm needs two values per channel after ASPP's image pooling.
    counts = forward_counts(model(name), torch.randn(2, 3, 32, 32), training=training,
                            variants=("zero", "partial fused"))
    assert convs > 10 and counts["zero"] > convs
    assert counts["partial fused"] - counts["zero"] <= convs, counts


def test_strips_path_is_what_the_budget_rules_out():
    # Border strips cost several ops per conv: the budget above is not met by any partial padding.
    resnet = model("resnet50")
    counts = forward_counts(resnet, torch.randn(1, 3, 32, 32), variants=("zero", "partial strips"))
    assert counts["partial strips"] - counts["zero"] > 5 * padded_conv_count(resnet)
