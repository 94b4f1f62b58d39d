"""The authors' model recipe: head initialisation, ImageNet encoders, the mask switch."""

import os

import pytest
import torch
import torch.nn.functional as F
import torchvision
import yaml

from seg.classification import load_classification_config, make_synthetic_imagefolder
from seg.classification.config import REPO_ROOT
from seg.classification.models import build_classifier
from seg.classification.train import train_classifier
from seg.config import load_config
from seg.data.synthetic import make_synthetic
from seg.engine import read_jsonl
from seg.engine.segmentation import segmentation_step, train_segmentation
from seg.models import build_model
from seg.models.pretrained import load_backbone
from seg.models.wider_resnet import wider_resnet38_trunk
from seg.utils.errors import UserError

CONFIGS = REPO_ROOT / "configs"
PAPER_CONFIGS = [
    f"deeplabv3plus_{arch}_os8_{padding}_cityscapes.yaml"
    for arch in ("r50", "wrn38")
    for padding in ("zero", "partial")
]
RESNET50 = "torchvision:ResNet50_Weights.IMAGENET1K_V1"


# --- head initialisation: Kaiming normal, BatchNorm 1 / 0 (network/mynn.py) ----------------------


def kaiming_check(conv: torch.nn.Conv2d) -> None:
    """Assert the weights look like N(0, 2 / fan_in): std within 3 standard errors, kurtosis 3."""
    weight = conv.weight.detach().double().flatten()
    fan_in = conv.weight[0].numel()
    expected = (2.0 / fan_in) ** 0.5
    n = weight.numel()
    # The sample std of n normal values has a standard error of std / sqrt(2n).
    assert abs(weight.std().item() - expected) < 3 * expected / (2 * n) ** 0.5 + 1e-12, conv
    kurtosis = ((weight - weight.mean()) ** 4).mean() / weight.var(unbiased=False) ** 2
    assert abs(kurtosis.item() - 3.0) < 6 * (24 / n) ** 0.5, conv  # uniform (default) has 1.8


@pytest.mark.parametrize(
    "name, head",
    [
        (
            "deeplabv3plus_resnet50",
            ("aspp", "aspp_project", "low_level_project", "decoder", "classifier"),
        ),
        (
            "deeplabv3plus_small",
            ("aspp", "aspp_project", "low_level_project", "decoder", "classifier"),
        ),
    ],
)
def test_head_is_kaiming_normal_with_unit_batchnorm(name, head):
    torch.manual_seed(0)
    model = build_model(name, padding="zeros")
    for part in head:
        for layer in getattr(model, part).modules():
            if isinstance(layer, torch.nn.Conv2d) and layer.weight.numel() >= 2000:
                kaiming_check(layer)
            if isinstance(layer, torch.nn.BatchNorm2d):
                assert torch.all(layer.weight == 1) and torch.all(layer.bias == 0)
    # The trunk keeps PyTorch's default (kaiming uniform, a = sqrt(5): std 1 / sqrt(3 fan_in)).
    conv = model.backbone.layer1[0].conv1
    assert abs(conv.weight.std().item() * (3 * conv.weight[0].numel()) ** 0.5 - 1) < 0.1


@pytest.mark.slow
def test_wrn38_initialises_only_the_authors_final_block():
    torch.manual_seed(0)
    model = build_model("deeplabv3plus_wrn38", padding="zeros")
    for layer in list(model.decoder.modules()) + [model.classifier]:
        if isinstance(layer, torch.nn.Conv2d):
            kaiming_check(layer)
    # ASPP keeps PyTorch's default in the authors' DeepWV3Plus.
    conv = model.aspp.branches[0][0]
    assert abs(conv.weight.std().item() * (3 * conv.weight[0].numel()) ** 0.5 - 1) < 0.05


# --- the mask switch: off in the paper configs; on gives the big-padding formulation -------------


@pytest.mark.parametrize("config", PAPER_CONFIGS)
def test_paper_configs_train_on_the_same_padded_crops_from_imagenet(config):
    raw = yaml.safe_load((CONFIGS / config).read_text())
    assert raw["train"]["mask_propagation"] is False
    assert raw["model"]["pretrained_backbone"] is not None
    assert raw["data"]["blur"] is True and raw["data"]["class_uniform_tile"] == 1024


def test_mask_switch_decides_whether_the_padding_is_a_hole():
    torch.manual_seed(0)
    model = build_model("deeplabv3plus_small", padding="partial").eval()
    image = torch.randn(2, 3, 48, 48)
    valid = torch.ones(2, 1, 48, 48)
    valid[:, :, :, 36:] = 0  # a crop padded on the right, as after scaling below the crop size
    image = image * valid  # padded pixels are black
    label = torch.randint(0, 19, (2, 48, 48))
    batch = {"image": image, "label": label, "valid": valid}
    with torch.no_grad():
        off = segmentation_step(model, batch, mask_propagation=False)
        on = segmentation_step(model, batch, mask_propagation=True)
        plain = F.cross_entropy(model(image), label, ignore_index=255)
        holes = F.cross_entropy(model(image, valid), label, ignore_index=255)
    assert torch.equal(off, plain) and torch.equal(on, holes)
    assert not torch.allclose(off, on)  # the partial model does see the difference


# --- ImageNet encoders: torchvision's weights API, classification-track checkpoints, WRN38-A2 -----


def test_torchvision_weights_are_found_in_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = torchvision.models.ResNet50_Weights.IMAGENET1K_V1
    cache = tmp_path / "hub" / "checkpoints" / os.path.basename(weights.url)  # torchvision's name
    cache.parent.mkdir(parents=True)
    torch.manual_seed(1)
    reference = torchvision.models.resnet50().state_dict()
    torch.save(reference, cache)
    model = build_model("deeplabv3plus_resnet50", padding="partial")
    report = load_backbone(model.backbone, RESNET50)
    assert (
        report.dropped == ["fc.bias", "fc.weight"] and not report.missing and not report.unexpected
    )
    own = model.backbone.state_dict()
    assert sorted(report.loaded) == sorted(own)
    assert all(torch.equal(own[key], reference[key]) for key in own)
    assert f"loaded {len(reference) - 2} tensors" in report.summary(RESNET50)  # all but fc.*


def test_missing_torchvision_weights_name_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for proxy in ("https_proxy", "HTTPS_PROXY"):  # an unreachable proxy: offline, and fast
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    model = build_model("deeplabv3plus_small", padding="zeros")
    expected = str(tmp_path / "hub" / "checkpoints" / "resnet50-0676ba61.pth")
    with pytest.raises(UserError, match="resnet50-0676ba61.pth") as error:
        load_backbone(model.backbone, RESNET50)
    assert expected in str(error.value) and "TORCH_HOME" in str(error.value)
    with pytest.raises(UserError, match="not a torchvision weights name"):
        load_backbone(model.backbone, "torchvision:ResNet50_Weights.NOPE")
    with pytest.raises(UserError, match="no such file"):
        load_backbone(model.backbone, str(tmp_path / "absent.pth"))


@pytest.mark.slow
def test_classification_checkpoint_is_a_deeplab_encoder(tmp_path):
    # A partial-padding ResNet50 of the classification track, a few steps on synthetic images.
    data = make_synthetic_imagefolder(
        tmp_path / "data", classes=3, train_per_class=4, val_per_class=2, size=20, seed=0
    )
    cfg = load_classification_config(
        CONFIGS / "resnet18_synthetic_partial.yaml",
        [
            f"data.root={data}",
            f"output_dir={tmp_path / 'runs'}",
            "run_name=r50",
            "model.name=resnet50",
            "data.train_crop=16",
            "data.eval_resize=20",
            "data.eval_crop=16",
            "train.epochs=2",
            "train.batch_size=4",
            "train.checkpoint_every_epochs=2",
            "eval.batch_size=6",
        ],
    )
    train_classifier(cfg)
    checkpoint = tmp_path / "runs" / "r50" / "last.pth"
    trained = torch.load(checkpoint, map_location="cpu", weights_only=False)["model"]

    model = build_model("deeplabv3plus_resnet50", padding="partial")
    report = load_backbone(model.backbone, checkpoint)
    own = model.backbone.state_dict()
    assert report.dropped == ["fc.bias", "fc.weight"]
    assert sorted(report.loaded) == sorted(own) and not report.missing and not report.unexpected
    assert all(torch.equal(own[key], trained[key]) for key in own)
    # Through the model builder, as model.pretrained_backbone.
    built = build_model(
        "deeplabv3plus_resnet50", padding="partial", pretrained_backbone=str(checkpoint)
    )
    assert torch.equal(built.backbone.conv1.weight, trained["conv1.weight"])


def test_wrn38_a2_classifier_has_the_trunk_keys_plus_the_imagenet_head():
    with torch.device("meta"):  # shapes and names only: no 500 MB of weights
        classifier = build_classifier("wider_resnet38_a2", num_classes=1000, padding="partial")
        trunk = wider_resnet38_trunk(output_stride=8)
    ours = {key: value.shape for key, value in classifier.state_dict().items()}
    theirs = {key: value.shape for key, value in trunk.state_dict().items()}
    head = {key for key in ours if key.startswith(trunk.imagenet_only)}
    assert {key.split(".")[0] for key in head} == {"bn_out", "classifier"}
    assert ours["classifier.fc.weight"] == (1000, 4096) and "bn_out.0.running_var" in ours
    assert {key: shape for key, shape in ours.items() if key not in head} == theirs


@pytest.mark.slow
def test_wrn38_a2_classifies_at_output_stride_32():
    torch.manual_seed(0)
    model = build_classifier("wider_resnet38_a2", num_classes=5, padding="partial").eval()
    captured = {}
    model.bn_out.register_forward_hook(
        lambda module, inputs, output: captured.update(shape=output.shape)
    )
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 96))
    assert logits.shape == (1, 5) and torch.isfinite(logits).all()
    assert captured["shape"] == (1, 4096, 2, 3)  # 64x96 / 32


@pytest.mark.slow
def test_training_follows_the_mask_switch(tmp_path):
    # 64x128 frames scaled by at most 1.5 never fill a 160 crop: every crop is padded.
    make_synthetic(tmp_path / "data", train=4, val=1, extra=2, size=(64, 128), seed=0)
    first_loss = {}
    for padding in ("zero", "partial"):
        for switch in ("false", "true"):
            cfg = load_config(
                CONFIGS / f"deeplabv3plus_small_os8_{padding}_synthetic.yaml",
                [
                    f"data.root={tmp_path / 'data'}",
                    f"output_dir={tmp_path / 'runs'}",
                    f"run_name={padding}_{switch}",
                    f"train.mask_propagation={switch}",
                    "train.iterations=1",
                    "train.batch_size=2",
                    "train.log_every=1",
                    "eval.max_images=1",
                ],
            )
            train_segmentation(cfg)
            records = read_jsonl(cfg.run_dir() / "log.jsonl")
            assert "data/coarse_fraction" in records[0]  # the share of coarse crops is logged
            first_loss[padding, switch] = next(
                r["train/loss"] for r in records if "train/loss" in r
            )
    # Zero padding drops the mask either way; partial padding turns the padding into holes.
    assert first_loss["zero", "false"] == first_loss["zero", "true"]
    assert first_loss["partial", "false"] != first_loss["partial", "true"]
