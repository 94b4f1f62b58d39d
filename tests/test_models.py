"""DeepLabV3+ models: parameter counts, forward/backward per padding mode, checkpoint loading."""
import pytest
import torch
import torchvision

from seg.layers import PADDING_MODES, get_padding_mode, set_padding
from seg.models import MODEL_NAMES, build_model, load_backbone
from seg.models.resnet import resnet50_trunk, small_trunk
from seg.models.wider_resnet import wider_resnet38_trunk


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def resnet50_model():
    torch.manual_seed(0)
    return build_model("deeplabv3plus_resnet50")


@pytest.fixture(scope="module")
def wrn38_model():
    torch.manual_seed(0)
    return build_model("deeplabv3plus_wrn38")


def test_parameter_counts_match_nvidia(resnet50_model, wrn38_model):
    # NVIDIA semantic-segmentation DeepR50V3PlusD_m1 and DeepWV3Plus, 19 classes.
    assert count(resnet50_model) == 40_351_040
    assert count(wrn38_model) == 137_103_936
    assert MODEL_NAMES == ("deeplabv3plus_resnet50", "deeplabv3plus_wrn38", "deeplabv3plus_small")
    small = build_model("deeplabv3plus_small")
    assert 300_000 <= count(small) <= 1_000_000


def test_resnet50_trunk_has_torchvision_parameter_count():
    tv = torchvision.models.resnet50(weights=None)
    assert count(resnet50_trunk()) == count(tv) - count(tv.fc)


def run_train_step(model, images):
    model.train()
    model.zero_grad(set_to_none=True)
    logits = model(images)
    assert logits.shape == (images.shape[0], 19, *images.shape[-2:])
    assert torch.isfinite(logits).all()
    logits.square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
    # Gradients reach the stem, not just exist: the first conv's gradient is not all zero.
    first = next(iter(model.backbone.parameters()))
    assert first.grad.abs().sum() > 0


def run_trunk_step(trunk, images):
    trunk.train()
    trunk.zero_grad(set_to_none=True)
    low, _, high, _ = trunk(images)
    assert torch.isfinite(low).all() and torch.isfinite(high).all()
    (low.square().mean() + high.square().mean()).backward()
    for name, p in trunk.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


# reflect/replicate/circular cannot pad more than the map is wide (a PyTorch limit), and the
# ASPP's dilation-36 convs at output stride 8 need maps over 36 cells (inputs over 288 px):
# the big models run whole in partial mode (the mode with the most code of ours), their trunks
# in the four other modes, and the small model whole in every mode at 320x320.
OTHER_MODES = [mode for mode in PADDING_MODES if mode != "partial"]


def test_resnet50_model_forward_backward_partial(resnet50_model):
    torch.manual_seed(1)
    set_padding(resnet50_model, "partial")
    assert get_padding_mode(resnet50_model) == "partial"
    run_train_step(resnet50_model, torch.randn(2, 3, 64, 64))


@pytest.mark.parametrize("mode", OTHER_MODES)
def test_resnet50_trunk_forward_backward(resnet50_model, mode):
    torch.manual_seed(1)
    trunk = set_padding(resnet50_model.backbone, mode)
    assert get_padding_mode(trunk) == mode
    run_trunk_step(trunk, torch.randn(1, 3, 48, 48))


def test_wrn38_model_forward_backward_partial(wrn38_model):
    torch.manual_seed(1)
    set_padding(wrn38_model, "partial")
    run_train_step(wrn38_model, torch.randn(2, 3, 40, 40))


@pytest.mark.slow
@pytest.mark.parametrize("mode", OTHER_MODES)
def test_wrn38_trunk_forward_backward(wrn38_model, mode):
    torch.manual_seed(1)
    run_trunk_step(set_padding(wrn38_model.backbone, mode), torch.randn(1, 3, 40, 40))


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_small_forward_backward_every_padding_mode(mode):
    torch.manual_seed(1)
    run_train_step(build_model("deeplabv3plus_small", padding=mode), torch.randn(2, 3, 320, 320))


@torch.no_grad()
def test_output_strides_set_feature_sizes(resnet50_model):
    images = torch.randn(1, 3, 64, 96)
    for output_stride in (8, 16, 32):
        for trunk in (resnet50_trunk(output_stride=output_stride),
                      small_trunk(output_stride=output_stride)):
            low, _, high, _ = trunk.eval()(images)
            assert low.shape[-2:] == (16, 24)
            assert high.shape[-2:] == (64 // output_stride, 96 // output_stride)
    model = build_model("deeplabv3plus_small", output_stride=16, aspp_pool_size=(64, 96)).eval()
    assert model(images).shape == (1, 19, 64, 96)
    with pytest.raises(ValueError, match="output_stride"):
        build_model("deeplabv3plus_small", output_stride=4)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("deeplabv3_resnet50")


def test_resnet50_trunk_equals_torchvision_at_stride_32(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.resnet50(weights=None).eval()
    for m in tv.modules():  # non-trivial BN statistics, so a misplaced BN would show
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    path = tmp_path / "resnet50.pth"
    torch.save(tv.state_dict(), path)
    trunk = set_padding(resnet50_trunk(output_stride=32), "zeros").eval()
    report = load_backbone(trunk, path)
    assert report.missing == [] and report.unexpected == []
    assert report.dropped == ["fc.bias", "fc.weight"]
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        low, _, high, _ = trunk(images)
        x = tv.maxpool(tv.relu(tv.bn1(tv.conv1(images))))
        layer1 = tv.layer1(x)
        layer4 = tv.layer4(tv.layer3(tv.layer2(layer1)))
    torch.testing.assert_close(low, layer1, rtol=0, atol=1e-6)
    torch.testing.assert_close(high, layer4, rtol=0, atol=1e-6)


WRN38_CHANNELS = ((128, 128), (256, 256), (512, 512), (512, 1024), (512, 1024, 2048),
                  (1024, 2048, 4096))
WRN38_BLOCKS = (3, 3, 6, 3, 1, 1)


def wrn38_checkpoint_layout():
    """Returns {key: shape} of wider_resnet38.pth.tar, written from the published architecture."""
    shapes = {"module.mod1.conv1.weight": (64, 3, 3, 3)}

    def norm(prefix, c):
        for suffix in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.0.{suffix}"] = (c,)

    cin = 64
    for mod, (blocks, ch) in enumerate(zip(WRN38_BLOCKS, WRN38_CHANNELS), start=2):
        for b in range(1, blocks + 1):
            p = f"module.mod{mod}.block{b}"
            norm(f"{p}.bn1", cin)
            if len(ch) == 2:
                shapes[f"{p}.convs.conv1.weight"] = (ch[0], cin, 3, 3)
                norm(f"{p}.convs.bn2", ch[0])
                shapes[f"{p}.convs.conv2.weight"] = (ch[1], ch[0], 3, 3)
            else:
                shapes[f"{p}.convs.conv1.weight"] = (ch[0], cin, 1, 1)
                norm(f"{p}.convs.bn2", ch[0])
                shapes[f"{p}.convs.conv2.weight"] = (ch[1], ch[0], 3, 3)
                norm(f"{p}.convs.bn3", ch[1])
                shapes[f"{p}.convs.conv3.weight"] = (ch[2], ch[1], 1, 1)
            if b == 1:  # every module's first block changes width (mod4's also strides)
                shapes[f"{p}.proj_conv.weight"] = (ch[-1], cin, 1, 1)
            cin = ch[-1]
    norm("module.bn_out", 4096)
    shapes["module.classifier.fc.weight"] = (1000, 4096)
    shapes["module.classifier.fc.bias"] = (1000,)
    return shapes


def test_wrn38_imagenet_checkpoint_layout_loads(wrn38_model, tmp_path):
    layout = wrn38_checkpoint_layout()
    for key in (
        "module.mod2.block1.convs.bn2.0.running_mean",
        "module.mod4.block1.proj_conv.weight",
        "module.mod6.block1.convs.bn3.0.weight",
        "module.mod7.block1.convs.conv3.weight",
    ):
        assert key in layout  # keys of the published WideResNet38 ImageNet checkpoint
    # Expanded scalars: a 105M-parameter file in a few kilobytes, one distinct value per key.
    state = {key: torch.full((1,), float(i)).expand(shape) for i, (key, shape) in
             enumerate(layout.items())}
    path = tmp_path / "wider_resnet38.pth.tar"
    torch.save({"state_dict": state, "epoch": 90}, path)
    trunk = wrn38_model.backbone
    report = load_backbone(trunk, path)
    assert report.missing == [] and report.unexpected == []
    assert report.dropped == sorted(k[len("module."):] for k in layout
                                    if k.startswith(("module.bn_out", "module.classifier")))
    own = trunk.state_dict()
    for i, key in enumerate(layout):
        name = key[len("module."):]
        if name in own:
            assert (own[name] == i).all(), name


def test_pretrained_reports_keys_by_name_and_rejects_shapes(tmp_path):
    state = small_trunk().state_dict()
    state.pop("layer1.0.conv1.weight")
    state["extra.weight"] = torch.zeros(3)
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.warns(UserWarning, match=r"layer1\.0\.conv1\.weight.*extra\.weight"):
        report = load_backbone(small_trunk(), path)
    assert report.missing == ["layer1.0.conv1.weight"]
    assert report.unexpected == ["extra.weight"]

    state = small_trunk().state_dict()
    state["layer2.0.conv2.weight"] = torch.zeros(1, 2, 3, 3)
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"layer2\.0\.conv2\.weight: file \(1, 2, 3, 3\)"):
        load_backbone(small_trunk(), path)

    torch.save({"something.else": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="match"):
        load_backbone(small_trunk(), path)
    with pytest.raises(FileNotFoundError, match="pretrained_backbone"):
        build_model("deeplabv3plus_small", pretrained_backbone=str(tmp_path / "missing.pth"))


@pytest.mark.slow
@torch.no_grad()
def test_wrn38_trunk_output_strides():
    images = torch.randn(1, 3, 32, 48)
    for output_stride in (8, 16):
        low, _, high, _ = wider_resnet38_trunk(output_stride=output_stride).eval()(images)
        assert low.shape[1:] == (128, 16, 24)
        assert high.shape[1:] == (4096, 32 // output_stride, 48 // output_stride)
