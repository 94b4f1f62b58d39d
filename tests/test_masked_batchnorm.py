"""MaskedBatchNorm2d against a reference written from the definition (the real pixels gathered
by boolean indexing), the all-ones/eval equivalences with nn.BatchNorm2d, the conversion of a
model and the training options around it."""
import copy
import pathlib

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from seg.config import ConfigError
from seg.engine.segmentation import check_masked_batchnorm, mask_batchnorm, segmentation_step
from seg.layers import (
    MaskedBatchNorm2d,
    convert_masked_batchnorm,
    count_masked_batchnorm,
    real_pixels,
)
from seg.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = pathlib.Path(__file__).resolve().parent.parent


def random_holes(n, h, w, seed, dtype=torch.float64):
    """Returns a (n, 1, h, w) mask with a random rectangular hole per image; image 0 has none."""
    g = torch.Generator().manual_seed(seed)
    valid = torch.ones(n, 1, h, w, dtype=dtype)
    for i in range(1, n):
        top, left = (int(torch.randint(0, s - 1, (1,), generator=g)) for s in (h, w))
        bottom = int(torch.randint(top + 1, h + 1, (1,), generator=g))
        right = int(torch.randint(left + 1, w + 1, (1,), generator=g))
        valid[i, :, top:bottom, left:right] = 0
    assert 0 < valid.sum() < valid.numel()
    return valid


def reference(x, valid, weight, bias, running_mean, running_var, momentum, eps):
    """Returns (output, running mean, running var) of train-mode BN over the real pixels."""
    real = valid[:, 0] > 0  # (N, H, W)
    values = x.permute(1, 0, 2, 3)[:, real]  # (C, real pixels)
    n = values.shape[1]
    mean, var = values.mean(dim=1), values.var(dim=1, unbiased=False)
    shape = (1, -1, 1, 1)
    out = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    out = out * weight.view(shape) + bias.view(shape)
    running_mean = (1 - momentum) * running_mean + momentum * mean.detach()
    running_var = (1 - momentum) * running_var + momentum * var.detach() * n / (n - 1)
    return out, running_mean, running_var


def masked_layer(channels, seed=0, dtype=torch.float64, **kwargs):
    """Returns a MaskedBatchNorm2d in train mode with random affine parameters and statistics."""
    torch.manual_seed(seed)
    layer = MaskedBatchNorm2d(channels, **kwargs).to(dtype)
    with torch.no_grad():
        layer.weight.uniform_(0.5, 2.0)
        layer.bias.normal_()
        if layer.track_running_stats:
            layer.running_mean.normal_()
            layer.running_var.uniform_(0.5, 2.0)
    return layer.train()


def test_train_mode_matches_the_reference_for_one_and_three_steps():
    layer = masked_layer(3)
    mean, var = layer.running_mean.clone(), layer.running_var.clone()
    for step in range(3):
        x = torch.randn(4, 3, 6, 7, dtype=torch.float64) * 3 + 1
        valid = random_holes(4, 6, 7, seed=step)
        with real_pixels(valid):
            out = layer(x)
        want, mean, var = reference(x, valid, layer.weight, layer.bias, mean, var, 0.1, 1e-5)
        torch.testing.assert_close(out, want, rtol=0, atol=1e-12)
        torch.testing.assert_close(layer.running_mean, mean, rtol=0, atol=1e-12)
        torch.testing.assert_close(layer.running_var, var, rtol=0, atol=1e-12)
    assert int(layer.num_batches_tracked) == 3


def test_momentum_none_is_the_cumulative_average_over_real_pixels():
    layer = masked_layer(2, momentum=None)
    mean, var = layer.running_mean.clone(), layer.running_var.clone()
    for step in range(3):
        x = torch.randn(3, 2, 5, 5, dtype=torch.float64)
        valid = random_holes(3, 5, 5, seed=10 + step)
        with real_pixels(valid):
            layer(x)
        _, mean, var = reference(x, valid, layer.weight, layer.bias, mean, var, 1 / (step + 1),
                                 1e-5)
    torch.testing.assert_close(layer.running_mean, mean, rtol=0, atol=1e-12)
    torch.testing.assert_close(layer.running_var, var, rtol=0, atol=1e-12)


def test_gradients_match_the_reference():
    layer = masked_layer(3)
    x = torch.randn(4, 3, 5, 6, dtype=torch.float64, requires_grad=True)
    valid = random_holes(4, 5, 6, seed=3)
    upstream = torch.randn(4, 3, 5, 6, dtype=torch.float64)
    with real_pixels(valid):
        (layer(x) * upstream).sum().backward()
    got = (x.grad, layer.weight.grad, layer.bias.grad)
    x_ref = x.detach().clone().requires_grad_()
    weight, bias = (p.detach().clone().requires_grad_() for p in (layer.weight, layer.bias))
    out, _, _ = reference(x_ref, valid, weight, bias, layer.running_mean, layer.running_var, 0.1,
                          1e-5)
    (out * upstream).sum().backward()
    for a, b in zip(got, (x_ref.grad, weight.grad, bias.grad)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("mask", ["none", "ones", "outside"])
def test_without_holes_it_is_nn_batchnorm_bit_for_bit(mask):
    plain = nn.BatchNorm2d(4)
    with torch.no_grad():
        plain.weight.uniform_(0.5, 2.0)
        plain.bias.normal_()
    masked = convert_masked_batchnorm(copy.deepcopy(plain))
    x = torch.randn(2, 4, 5, 5)
    outputs = []
    for layer in (plain, masked):
        if mask == "ones":
            with real_pixels(torch.ones(2, 1, 5, 5)):
                outputs.append(layer(x))
        elif mask == "outside":  # a mask that ended before the forward: no mask
            with real_pixels(random_holes(2, 5, 5, seed=0, dtype=torch.float32)):
                pass
            outputs.append(layer(x))
        else:
            with real_pixels(None):
                outputs.append(layer(x))
    assert torch.equal(outputs[0], outputs[1])
    for name, buffer in plain.named_buffers():
        assert torch.equal(buffer, dict(masked.named_buffers())[name]), name


def test_eval_mode_is_nn_batchnorm_even_with_a_mask():
    layer = masked_layer(3, dtype=torch.float32).eval()
    plain = nn.BatchNorm2d(3).eval()
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(2, 3, 6, 6)
    with real_pixels(random_holes(2, 6, 6, seed=1, dtype=torch.float32)):
        assert torch.equal(layer(x), plain(x))
    assert torch.equal(layer.running_mean, plain.running_mean)


@pytest.mark.parametrize("train", [True, False])
def test_without_running_statistics_batch_statistics_are_masked_in_both_modes(train):
    layer = masked_layer(3, track_running_stats=False).train(train)
    x = torch.randn(3, 3, 5, 6, dtype=torch.float64)
    valid = random_holes(3, 5, 6, seed=5)
    with real_pixels(valid):
        out = layer(x)
    want, _, _ = reference(x, valid, layer.weight, layer.bias, torch.zeros(3), torch.ones(3), 0.1,
                           1e-5)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-12)
    assert layer.running_mean is None and layer.num_batches_tracked is None


def test_hole_values_change_plain_statistics_but_not_masked_ones():
    valid = random_holes(3, 6, 6, seed=4)
    x = torch.randn(3, 3, 6, 6, dtype=torch.float64)
    # Other values under the holes only.
    other = torch.where(valid > 0, x, 10 * torch.randn_like(x) + 5)
    real = (valid > 0).expand_as(x)

    def real_outputs(layer, inputs, mask):
        layer = copy.deepcopy(layer)
        with real_pixels(mask):
            return layer(inputs)[real], layer.running_mean

    masked = masked_layer(3)
    (a, mean_a), (b, mean_b) = (real_outputs(masked, t, valid) for t in (x, other))
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    torch.testing.assert_close(mean_a, mean_b, rtol=0, atol=1e-12)
    # Without the mask (plain BN) the same change moves the real pixels' outputs.
    (a, mean_a), (b, mean_b) = (real_outputs(masked, t, None) for t in (x, other))
    assert (a - b).abs().max() > 0.1 and (mean_a - mean_b).abs().max() > 0.01


def nearest_rows(size_in, size_out):
    """Returns the input index each output index samples (nearest, scale in/out, floor)."""
    return torch.arange(size_out) * size_in // size_out


@pytest.mark.parametrize("stride", [2, 4])
def test_a_strided_feature_map_uses_the_nearest_resized_mask(stride):
    torch.manual_seed(stride)
    conv = nn.Conv2d(2, 3, 3, stride=stride, padding=1).double()
    model = nn.Sequential(conv, masked_layer(3))
    x = torch.randn(3, 2, 13, 11, dtype=torch.float64)
    valid = random_holes(3, 13, 11, seed=stride)
    with real_pixels(valid):
        out = model(x)
    feature = conv(x).detach()
    h, w = feature.shape[-2:]
    sampled = valid[:, :, nearest_rows(13, h)][..., nearest_rows(11, w)]
    layer = model[1]
    want, _, _ = reference(feature, sampled, layer.weight, layer.bias, layer.running_mean,
                           layer.running_var, 0.1, 1e-5)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-12)
    plain = F.batch_norm(feature, None, None, layer.weight, layer.bias, training=True)
    assert (out - plain).abs().max() > 1e-3


def test_a_pooled_1x1_map_counts_every_image_with_a_real_pixel():
    layer = masked_layer(3)
    x = torch.randn(3, 3, 1, 1, dtype=torch.float64)
    valid = torch.ones(3, 1, 8, 8, dtype=torch.float64)
    valid[0, :, :4, :4] = 0  # the top-left pixel is a hole, the image is not
    valid[2] = 0  # an image without a real pixel
    with real_pixels(valid):
        out = layer(x)
    want, _, _ = reference(x, torch.tensor([1.0, 1.0, 0.0]).view(3, 1, 1, 1), layer.weight,
                           layer.bias, layer.running_mean, layer.running_var, 0.1, 1e-5)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-12)


def test_a_batch_of_another_size_than_the_mask_is_refused():
    layer = masked_layer(3)
    with real_pixels(random_holes(4, 5, 5, seed=0)):
        with pytest.raises(ValueError, match="2 images.*4"):
            layer(torch.randn(2, 3, 5, 5, dtype=torch.float64))


def test_half_precision_input_keeps_its_dtype_and_float32_statistics():
    layer = masked_layer(3, dtype=torch.float32)
    x = torch.randn(2, 3, 6, 6) * 4 + 100
    valid = random_holes(2, 6, 6, seed=2, dtype=torch.float32)
    with real_pixels(valid):
        full = copy.deepcopy(layer)(x)
        half = layer(x.bfloat16())
    assert half.dtype == torch.bfloat16
    # bf16 keeps 8 bits: a mean of ~100 summed in bf16 would be off by far more than this.
    torch.testing.assert_close(half.float(), full, rtol=0, atol=0.2)


def test_convert_switches_every_batchnorm_of_the_model_and_keeps_its_state():
    model = build_model("deeplabv3plus_small", num_classes=19, padding="partial", output_stride=8)
    plain = sum(type(m) is nn.BatchNorm2d for m in model.modules())
    keys, params = list(model.state_dict()), [id(p) for p in model.parameters()]
    assert plain > 10
    assert convert_masked_batchnorm(model) is model
    assert count_masked_batchnorm(model) == plain
    assert not any(type(m) is nn.BatchNorm2d for m in model.modules())
    # Nothing added by the swap: the same attributes, parameters and state_dict keys.
    layer = next(m for m in model.modules() if isinstance(m, MaskedBatchNorm2d))
    assert set(vars(layer)) == set(vars(nn.BatchNorm2d(layer.num_features)))
    assert list(model.state_dict()) == keys and [id(p) for p in model.parameters()] == params
    fresh = build_model("deeplabv3plus_small", num_classes=19, padding="partial", output_stride=8)
    fresh.load_state_dict(model.state_dict(), strict=True)
    model.load_state_dict(fresh.state_dict(), strict=True)
    images = torch.randn(1, 3, 32, 32)
    assert torch.equal(model.eval()(images), fresh.eval()(images))


def test_convert_leaves_other_normalisation_classes_alone():
    class OwnBatchNorm(nn.BatchNorm2d):
        pass

    model = nn.Sequential(nn.BatchNorm2d(2), nn.SyncBatchNorm(2), OwnBatchNorm(2),
                          nn.BatchNorm1d(2))
    convert_masked_batchnorm(model)
    assert [type(m) for m in model] == [MaskedBatchNorm2d, nn.SyncBatchNorm, OwnBatchNorm,
                                        nn.BatchNorm1d]


def tiny_batch():
    """Returns a padded training batch of two 32x32 crops: the second is half padding."""
    torch.manual_seed(0)
    valid = torch.ones(2, 1, 32, 32)
    valid[1, :, :, 16:] = 0
    image = torch.randn(2, 3, 32, 32) * valid
    label = torch.randint(0, 19, (2, 32, 32))
    label[valid[:, 0] == 0] = 255
    return {"image": image, "label": label, "valid": valid}


@pytest.mark.parametrize("mask_propagation", [False, True])
def test_a_training_step_with_masked_batchnorm(mask_propagation, capsys):
    torch.manual_seed(0)
    model = build_model("deeplabv3plus_small", num_classes=19, padding="partial", output_stride=8)
    plain = copy.deepcopy(model).train()
    mask_batchnorm(model, True).train()
    assert "masked BatchNorm: " in capsys.readouterr().out
    batch = tiny_batch()
    losses = [segmentation_step(m, batch, mask_propagation=mask_propagation, masked_batchnorm=b)
              for m, b in ((model, True), (plain, False))]
    assert all(torch.isfinite(loss) for loss in losses)
    losses[0].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    # The step's statistics left the padding out: the first BN's running mean differs from plain
    # BN's, which averaged over the padded half too.
    first, first_plain = (next(m for m in net.modules() if isinstance(m, nn.BatchNorm2d))
                          for net in (model, plain))
    assert (first.running_mean - first_plain.running_mean).abs().max() > 1e-4


def test_masked_batchnorm_with_syncbatchnorm_is_a_config_error():
    with pytest.raises(ConfigError, match="train.masked_batchnorm.*2 CUDA processes"):
        check_masked_batchnorm(True, 2, torch.device("cuda"))
    check_masked_batchnorm(True, 1, torch.device("cuda"))
    check_masked_batchnorm(True, 4, torch.device("cpu"))
    check_masked_batchnorm(False, 2, torch.device("cuda"))


@pytest.mark.slow
def test_a_masked_batchnorm_run_resumes_and_saves_plain_batchnorm_weights(tmp_path, capsys):
    from seg.config import load_config
    from seg.data.synthetic import make_synthetic
    from seg.engine import load_checkpoint
    from seg.engine.segmentation import load_model, train_segmentation

    root = tmp_path / "synthetic"
    make_synthetic(root, train=4, val=1, extra=0, size=(64, 128), seed=0)
    recipe = REPO / "configs" / "deeplabv3plus_small_os8_partial_synthetic.yaml"
    overrides = [f"data.root={root}", f"output_dir={tmp_path}", "data.crop_size=64",
                 "data.num_workers=0", "data.crop_past_border=true", "data.coarse=false",
                 "eval.every=0", "eval.max_images=1", "train.batch_size=2",
                 "train.masked_batchnorm=true", "train.checkpoint_every=1"]
    cfg = load_config(recipe, overrides + ["train.iterations=1"])
    assert train_segmentation(cfg)["iteration"] == 1
    cfg = load_config(recipe, overrides + ["train.iterations=2", "train.resume=auto"])
    assert train_segmentation(cfg)["iteration"] == 2
    assert capsys.readouterr().out.count("masked BatchNorm: ") == 2
    saved = load_checkpoint(cfg.run_dir() / "last.pth")["model"]
    plain = build_model("deeplabv3plus_small", num_classes=19, padding="partial", output_stride=8)
    assert list(saved) == list(plain.state_dict())
    model, _ = load_model(cfg.run_dir() / "last.pth")
    assert not any(isinstance(m, MaskedBatchNorm2d) for m in model.modules())
