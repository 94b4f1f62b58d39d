"""set_padding / padding_mode / get_padding_mode on our layers and torchvision models."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from partial_reference import reference_partial_conv2d

from seg.layers import (
    PADDING_MODES,
    ExplicitPadConv2d,
    PartialConv2d,
    get_padding_mode,
    padding_mode,
    set_padding,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def resnet50():
    torch.manual_seed(0)
    return torchvision.models.resnet50(weights=None).eval()


def padded_and_unpadded(model):
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    padded = [m for m in convs if m.padding != (0, 0)]
    return padded, [m for m in convs if m.padding == (0, 0)]


def test_modes_on_resnet50_share_parameters_and_keys(resnet50):
    keys = list(resnet50.state_dict())
    params = {name: p.data_ptr() for name, p in resnet50.named_parameters()}
    padded, unpadded = padded_and_unpadded(resnet50)
    assert len(padded) == 17 and len(unpadded) > 30
    try:
        for mode in PADDING_MODES:
            assert set_padding(resnet50, mode) is resnet50
            assert get_padding_mode(resnet50) == mode
            assert list(resnet50.state_dict()) == keys
            assert {n: p.data_ptr() for n, p in resnet50.named_parameters()} == params
            expected = {"partial": PartialConv2d, "symmetric": ExplicitPadConv2d}.get(mode,
                                                                                      nn.Conv2d)
            assert all(type(m) is expected for m in padded)
            assert all(m.padding_mode == ("zeros" if mode == "partial" else mode) for m in padded)
            # 1x1 convolutions and projections are never touched.
            assert all(type(m) is nn.Conv2d and m.padding_mode == "zeros" for m in unpadded)
    finally:
        set_padding(resnet50, "zeros")


def test_each_mode_computes_its_padding():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=2, dilation=2)
    x = torch.randn(2, 3, 9, 8)
    torch_pad = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}
    for mode in PADDING_MODES:
        set_padding(conv, mode)
        out = conv(x)
        if mode == "partial":
            expected, _ = reference_partial_conv2d(x, conv.weight, conv.bias, 2, 2, 2)
        elif mode == "zeros":
            expected = F.conv2d(x, conv.weight, conv.bias, 2, 2, 2)
        elif mode == "symmetric":  # numpy's symmetric padding: mirror including the edge
            padded = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), mode="symmetric")
            expected = F.conv2d(torch.from_numpy(padded), conv.weight, conv.bias, 2, 0, 2)
        else:
            padded = F.pad(x, (2, 2, 2, 2), mode=torch_pad[mode])
            expected = F.conv2d(padded, conv.weight, conv.bias, 2, 0, 2)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_zeros_partial_zeros_is_bit_identical(resnet50):
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = resnet50(x)
        partial = set_padding(resnet50, "partial")(x)
        after = set_padding(resnet50, "zeros")(x)
    assert torch.equal(before, after)
    assert not torch.allclose(before, partial)


def test_partial_resnet50_matches_per_layer_reference(resnet50):
    # Every converted layer of a real network against the slow reference, via forward hooks.
    x = torch.randn(1, 3, 64, 64)
    checked = []

    def check(module, inputs, output):
        ref, _ = reference_partial_conv2d(inputs[0], module.weight, module.bias, module.stride,
                                          module.padding, module.dilation, module.groups)
        scale = ref.abs().max().clamp(min=1)
        assert (output - ref).abs().max() <= 1e-5 * scale
        checked.append(module)

    set_padding(resnet50, "partial")
    hooks = [m.register_forward_hook(check) for m in padded_and_unpadded(resnet50)[0]]
    try:
        with torch.no_grad():
            resnet50(x)
    finally:
        for hook in hooks:
            hook.remove()
        set_padding(resnet50, "zeros")
    assert len(checked) == 17


def test_resnet50_state_dict_loads_strict_after_conversion(resnet50):
    converted = set_padding(torchvision.models.resnet50(weights=None), "partial")
    converted.load_state_dict(resnet50.state_dict(), strict=True)
    resnet50.load_state_dict(converted.state_dict(), strict=True)
    fresh = torchvision.models.resnet50(weights=None)
    fresh.load_state_dict(converted.state_dict(), strict=True)


def test_vgg16_bn_converts():
    model = torchvision.models.vgg16_bn(weights=None).eval()
    keys = list(model.state_dict())
    set_padding(model, "partial")
    padded, _ = padded_and_unpadded(model)
    assert len(padded) == 13 and all(type(m) is PartialConv2d for m in padded)
    assert list(model.state_dict()) == keys and get_padding_mode(model) == "partial"
    with torch.no_grad():
        assert torch.isfinite(model.features(torch.randn(1, 3, 32, 32))).all()


def test_context_manager_restores_each_conv():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), PartialConv2d(4, 4, 3, padding=1),
                          nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"),
                          nn.Conv2d(4, 4, 1))
    with pytest.raises(ValueError, match="mixes padding modes"):
        get_padding_mode(model)
    with padding_mode(model, "replicate") as switched:
        assert switched is model and get_padding_mode(model) == "replicate"
    assert [type(m) for m in model] == [nn.Conv2d, PartialConv2d, nn.Conv2d, nn.Conv2d]
    assert [m.padding_mode for m in model] == ["zeros", "zeros", "reflect", "zeros"]
    with pytest.raises(RuntimeError, match="boom"):
        with padding_mode(model, "partial"):
            raise RuntimeError("boom")
    assert type(model[0]) is nn.Conv2d and type(model[1]) is PartialConv2d


def test_unknown_mode_is_rejected_with_the_valid_ones():
    model = nn.Conv2d(3, 4, 3, padding=1)
    for call in (lambda: set_padding(model, "mirror"),
                 lambda: padding_mode(model, "mirror").__enter__()):
        with pytest.raises(ValueError) as error:
            call()
        assert "mirror" in str(error.value)
        assert all(mode in str(error.value) for mode in PADDING_MODES)


def test_conv_subclass_with_own_forward_is_refused():
    class Custom(nn.Conv2d):
        def forward(self, x):
            return super().forward(x) * 2

    with pytest.raises(TypeError, match="Custom"):
        set_padding(nn.Sequential(Custom(3, 4, 3, padding=1)), "partial")
