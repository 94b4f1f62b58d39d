"""torchvision classifiers by name with every padded convolution switched, checked against
torchvision itself."""
import pytest
import torch
import torchvision
from torch import nn

from seg.classification import build_classifier
from seg.layers import PartialConv2d, get_padding_mode


def padded_convs(model):
    return [m for m in model.modules() if isinstance(m, nn.Conv2d) and tuple(m.padding) != (0, 0)]


@pytest.mark.parametrize("padding", ["zeros", "partial", "reflect", "replicate", "circular"])
def test_every_padded_conv_uses_the_padding_and_keys_match_torchvision(padding):
    torch.manual_seed(0)
    model = build_classifier("resnet18", num_classes=7, padding=padding)
    reference = torchvision.models.resnet18(num_classes=7)
    assert list(model.state_dict()) == list(reference.state_dict())
    convs = padded_convs(model)
    # conv1 and the 16 3x3 convs of the basic blocks
    assert len(convs) == len(padded_convs(reference)) == 17
    for conv in convs:
        assert isinstance(conv, PartialConv2d) == (padding == "partial")
        assert conv.padding_mode == ("zeros" if padding == "partial" else padding)
    assert get_padding_mode(model) == padding


def test_zero_padding_is_torchvisions_model_and_partial_changes_only_through_the_border():
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(num_classes=5).eval()
    zeros = build_classifier("resnet18", num_classes=5, padding="zeros").eval()
    partial = build_classifier("resnet18", num_classes=5, padding="partial").eval()
    zeros.load_state_dict(reference.state_dict())
    partial.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(zeros(x), reference(x))
        assert not torch.allclose(partial(x), reference(x), atol=1e-4)
        # 7x7, padding 3, stride 2: interior agrees, border differs
        first, ours = reference.conv1, partial.conv1
        inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
        assert torch.allclose(ours(x)[inner], first(x)[inner], atol=1e-5)
        assert not torch.allclose(ours(x)[..., 0, :], first(x)[..., 0, :], atol=1e-4)


def test_small_input_forward_shape_and_gradients():
    model = build_classifier("resnet18", num_classes=4, padding="partial")
    out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 4) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_unknown_name_and_padding_name_the_fix():
    with pytest.raises(ValueError, match="resnet50"):
        build_classifier("resnet5O")
    with pytest.raises(ValueError, match="partial"):
        build_classifier("resnet18", padding="zero")
