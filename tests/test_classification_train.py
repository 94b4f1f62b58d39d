"""Classification training through seg.engine: recipe, epoch schedule, tiny runs end to end,
checkpoints, cross test."""
import importlib.util
import json

import pytest
import torch
import torchvision
import torchvision.transforms.functional as TF
from PIL import Image

from seg.classification import (
    cross_test,
    load_classification_config,
    load_classifier,
    make_synthetic_imagefolder,
)
from seg.classification.config import REPO_ROOT, ConfigError
from seg.classification.data import MEAN, STD
from seg.classification.train import loop_config, lr_milestones
from seg.engine import read_jsonl, step_scheduler
from seg.layers import get_padding_mode, set_padding

CONFIGS = REPO_ROOT / "configs"


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("padding", ["zeros", "partial", "reflect", "replicate"])
def test_imagenet_recipes_are_the_papers(padding):
    cfg = load_classification_config(CONFIGS / f"resnet50_imagenet_{padding}.yaml")
    assert (cfg.model.name, cfg.model.num_classes, cfg.model.padding) == ("resnet50", 1000, padding)
    t, d = cfg.train, cfg.data
    assert (t.lr, t.momentum, t.weight_decay, t.epochs, t.lr_step_epochs, t.lr_gamma) == (
        0.1,
        0.9,
        1e-4,
        100,
        30,
        0.1,
    )
    assert (d.train_crop, d.eval_resize, d.eval_crop, d.crop_scale) == (224, 256, 224, (0.08, 1.0))
    assert cfg.eval.every_epochs == 1
    assert cfg.run_name == f"resnet50_imagenet_{padding}_seed1"


def test_unknown_key_names_the_closest_one():
    with pytest.raises(ConfigError, match="train.epochs"):
        load_classification_config(CONFIGS / "resnet18_synthetic_partial.yaml", ["train.epoch=3"])


def test_lr_drops_tenfold_at_the_first_iteration_of_epochs_30_60_90():
    cfg = load_classification_config(CONFIGS / "resnet50_imagenet_partial.yaml")
    per_epoch = 3
    assert lr_milestones(cfg, per_epoch) == [90, 180, 270]
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.train.lr)
    sched = step_scheduler(opt, lr_milestones(cfg, per_epoch), cfg.train.lr_gamma)
    for iteration in range(100 * per_epoch):
        epoch = iteration // per_epoch
        # the official PyTorch ImageNet example's adjust_learning_rate
        assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.1 ** (epoch // 30)), iteration
        opt.step()
        sched.step()
    loop = loop_config(cfg, per_epoch)
    assert (loop.iterations, loop.val_every, loop.checkpoint_every, loop.best_metric) == (
        300,
        3,
        3,
        "top1",
    )


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Two 2-epoch resnet18 runs (replicate through the CLI, partial through the package) on a tiny
    ImageFolder."""
    tmp = tmp_path_factory.mktemp("classification")
    data = make_synthetic_imagefolder(
        tmp / "data", classes=3, train_per_class=6, val_per_class=4, size=20, seed=0
    )
    common = [
        f"data.root={data}",
        f"output_dir={tmp / 'runs'}",
        "data.train_crop=16",
        "data.eval_resize=20",
        "data.eval_crop=16",
        "model.num_classes=3",
        "train.epochs=2",
        "train.lr=0.02",
        "train.batch_size=8",
        "train.log_every=1",
        "train.checkpoint_every_epochs=2",
        "eval.batch_size=12",
        "train.lr_step_epochs=1",
    ]
    config = str(CONFIGS / "resnet18_synthetic_partial.yaml")
    assert (
        load_tool("train_classifier").main(
            [config, "model.padding=replicate", "run_name=replicate", *common]
        )
        == 0
    )
    from seg.classification.train import train_classifier

    result = train_classifier(
        load_classification_config(config, ["run_name=partial", "train.seed=2", *common])
    )
    return {"root": tmp, "data": data, "runs": tmp / "runs", "partial_result": result}


@pytest.mark.slow
def test_tiny_run_end_to_end(tiny_runs):
    run = tiny_runs["runs"] / "partial"
    assert {"last.pth", "best.pth", "log.jsonl", "run.json", "summary.json"} <= {
        p.name for p in run.iterdir()
    }
    records = read_jsonl(run / "log.jsonl")
    val = [r for r in records if "val/top1" in r]
    assert [r["iteration"] for r in val] == [2, 4]  # 18 images // batch 8 = 2 iterations per epoch
    lrs = [r["train/lr"] for r in records if "train/lr" in r]
    # /10 from epoch 1 on (lr_step_epochs=1)
    assert lrs[0] == pytest.approx(0.02) and lrs[-1] == pytest.approx(0.002)
    summary = json.loads((run / "summary.json").read_text())
    assert summary == tiny_runs["partial_result"]["summary"]
    assert summary["best_top1"] == max(r["val/top1"] for r in val)
    assert summary["last5_top1"] == pytest.approx(sum(r["val/top1"] for r in val) / 2)
    assert [e["epoch"] for e in summary["epochs"]] == [1.0, 2.0]
    assert torch.load(run / "best.pth", weights_only=True)["best_top1"] == summary["best_top1"]


def torchvision_logits(checkpoint, padding, images):
    """Independent rebuild: torchvision's resnet18, seg.layers.set_padding, the stored weights."""
    model = torchvision.models.resnet18(num_classes=3)
    model.load_state_dict(torch.load(checkpoint, weights_only=True)["model"])
    return set_padding(model, padding).eval()(images)


@pytest.mark.slow
def test_padding_recorded_in_the_checkpoint_and_restored_on_load(tiny_runs):
    last = tiny_runs["runs"] / "replicate" / "last.pth"
    assert torch.load(last, weights_only=True)["config"]["model"]["padding"] == "replicate"
    model, config = load_classifier(last)
    assert get_padding_mode(model) == "replicate" and config["model"]["name"] == "resnet18"
    assert not model.training
    images = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(
            model(images), torchvision_logits(last, "replicate", images), atol=1e-5
        )
        other, _ = load_classifier(last, padding="partial")
        assert get_padding_mode(other) == "partial"
        assert torch.allclose(other(images), torchvision_logits(last, "partial", images), atol=1e-5)
        assert not torch.allclose(other(images), model(images), atol=1e-4)


def reference_top1(checkpoint, padding, val_root):
    """Top-1 (%) by a plain loop over the val PNGs: resize 20, centre crop 16, normalise."""
    classes = sorted(p.name for p in val_root.iterdir())
    images, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((val_root / name).glob("*.png")):
            image = TF.center_crop(TF.resize(Image.open(path).convert("RGB"), 20), 16)
            images.append(TF.normalize(TF.to_tensor(image), MEAN, STD))
            labels.append(label)
    with torch.no_grad():
        predicted = torchvision_logits(checkpoint, padding, torch.stack(images)).argmax(1)
    return 100.0 * (predicted == torch.tensor(labels)).double().mean().item()


@pytest.mark.slow
def test_cross_test_diagonal_is_each_runs_own_evaluation(tiny_runs):
    runs = tiny_runs["runs"]
    checkpoints = [runs / "replicate" / "last.pth", runs / "partial" / "last.pth"]
    modes = ("partial", "replicate")
    result = cross_test(checkpoints, modes=modes)
    for row, checkpoint in zip(result["rows"], checkpoints):
        own = [
            r["val/top1"] for r in read_jsonl(checkpoint.parent / "log.jsonl") if "val/top1" in r
        ][-1]
        # last.pth is the last evaluated model
        assert row["top1"][row["trained_padding"]] == pytest.approx(own)
        for mode in modes:
            assert row["top1"][mode] == pytest.approx(
                reference_top1(checkpoint, mode, tiny_runs["data"] / "val")
            )
    assert [(r["run"], r["trained_padding"]) for r in result["rows"]] == [
        ("replicate", "replicate"),
        ("partial", "partial"),
    ]
    group = result["groups"][0]
    assert group["diff"]["replicate"] == 0.0
    first = result["rows"][0]["top1"]
    assert group["diff"]["partial"] == pytest.approx(first["partial"] - first["replicate"])


@pytest.mark.slow
def test_per_image_hits_of_last_pth_give_its_top1(tiny_runs):
    # The saved hits are last.pth's: their mean is the top-1 of an independent loop over the PNGs.
    from seg.classification.intervals import PER_IMAGE
    from seg.evaluation.per_image import load_per_image
    for name, padding in (("replicate", "replicate"), ("partial", "partial")):
        stats = load_per_image(tiny_runs["runs"] / name / PER_IMAGE)
        assert stats.columns == ["top1", "top5"] and len(stats.images) == 12
        assert stats.meta["padding"] == padding
        top1 = 100.0 * stats.intersection[:, 0].sum() / stats.union[:, 0].sum()
        assert top1 == pytest.approx(reference_top1(tiny_runs["runs"] / name / "last.pth", padding,
                                                    tiny_runs["data"] / "val"), abs=1e-9)
