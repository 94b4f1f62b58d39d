"""torch.compile and torch.export of partial padding: no graph breaks, no baked-in ratio."""
import pytest
import torch
import torch.nn as nn
import torchvision
from partial_reference import reference_partial_conv2d

from seg.layers import PartialConv2d, set_padding

pytestmark = pytest.mark.usefixtures("one_thread")


def relative_error(actual, expected):
    return ((actual - expected).abs().max() / expected.abs().max().clamp(min=1)).item()


def small_net():
    torch.manual_seed(0)
    return set_padding(nn.Sequential(
        nn.Conv2d(3, 8, 7, stride=2, padding=3), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False), nn.ReLU(),
        nn.Conv2d(8, 4, 3, padding=3)), "partial").eval()  # padding 3: windows fully in padding


def test_compiled_partial_resnet50_has_no_graph_breaks_and_matches_eager():
    torch._dynamo.reset()
    model = set_padding(torchvision.models.resnet50(weights=None), "partial").eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        explanation = torch._dynamo.explain(model)(x)
        assert explanation.graph_break_count == 0 and explanation.graph_count == 1
        eager = model(x)
        # aot_eager runs the same traced graph as inductor without its C++ build (minutes here).
        compiled = torch.compile(model, backend="aot_eager", fullgraph=True)(x)
    assert relative_error(compiled, eager) < 1e-5


def test_compiled_layer_matches_reference_at_new_sizes():
    torch._dynamo.reset()
    torch.manual_seed(0)
    # 7/5 is inexact in float32; padding 7 > 6 puts whole windows in the padding.
    conv = PartialConv2d(3, 4, 7, stride=2, padding=7).double()
    compiled = torch.compile(conv, backend="aot_eager", dynamic=True, fullgraph=True)
    for h, w in ((9, 7), (12, 16), (23, 8)):
        x = torch.randn(2, 3, h, w, dtype=torch.float64)
        ref, _ = reference_partial_conv2d(x, conv.weight, conv.bias, 2, 7, 1, 1)
        assert relative_error(compiled(x), ref) < 1e-9


def test_export_with_dynamic_size_follows_the_input_size():
    model = small_net()
    x = torch.randn(1, 3, 33, 29)
    dims = {2: torch.export.Dim("height", min=8, max=256), 3: torch.export.Dim("width", min=8,
                                                                                max=256)}
    exported = torch.export.export(model, (x,), dynamic_shapes=({**dims},)).module()
    with torch.no_grad():
        for size in ((33, 29), (40, 57), (17, 64)):
            other = torch.randn(1, 3, *size)
            assert relative_error(exported(other), model(other)) < 1e-5


def test_static_export_refuses_another_size():
    model = small_net()
    exported = torch.export.export(model, (torch.randn(1, 3, 33, 29),)).module()
    with pytest.raises(Exception, match="33"):  # names the traced size instead of reusing it
        exported(torch.randn(1, 3, 40, 29))


@pytest.mark.slow
def test_compiled_partial_model_matches_eager_at_two_sizes():
    # What `--compile` runs: eval at two sizes (the second traced with a symbolic size), then
    # the forward and backward of a training step on the same weights and batch.
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = set_padding(nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2), nn.ReLU(),
        nn.Conv2d(8, 4, 3, padding=3)), "partial").eval()  # padding 3: windows fully in padding
    compiled = torch.compile(model, backend="aot_eager")  # inductor's graph, no C++ build
    with torch.no_grad():
        for size in ((33, 29), (40, 57)):
            x = torch.randn(2, 3, *size)
            assert relative_error(compiled(x), model(x)) < 1e-5
    model.train()
    x = torch.randn(2, 3, 33, 29)
    grads = []
    for run in (model, compiled):
        model.zero_grad()
        run(x).square().mean().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    assert max(relative_error(c, e) for c, e in zip(*grads)) < 1e-4
