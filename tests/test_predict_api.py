"""seg.inference: image conversions, checkpoint loading errors, predictions and test-time
augmentation against references written out from their definitions."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from seg.config import Config, ModelConfig, config_to_dict
from seg.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from seg.engine.checkpoint import capture_rng_state, save_checkpoint
from seg.inference import load_predictor, read_image, to_rgb
from seg.models import build_model
from seg.utils.errors import UserError

pytestmark = pytest.mark.usefixtures("one_thread")


def write_checkpoint(path, padding="partial", seed=0, num_classes=19, weights_classes=None):
    """Writes a checkpoint as tools/train.py does (config dict, RNG state included)."""
    torch.manual_seed(seed)
    cfg = Config(model=ModelConfig(name="deeplabv3plus_small", padding=padding,
                                   num_classes=num_classes))
    model = build_model("deeplabv3plus_small", padding=padding,
                        num_classes=weights_classes or num_classes)
    for m in model.modules():  # non-trivial BatchNorm statistics, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.bias.data.uniform_(-0.2, 0.2)
    save_checkpoint({"model": model.state_dict(), "config": config_to_dict(cfg), "iteration": 1,
                     "rng": capture_rng_state()}, path)
    return path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    return {padding: write_checkpoint(folder / f"{padding}.pth", padding)
            for padding in ("partial", "zeros")}


def normalised(rgb):
    """The model input written out: (rgb / 255 - mean) / std, channels first."""
    array = (rgb.astype(np.float32) / 255 - np.array(IMAGENET_MEAN, np.float32)) \
        / np.array(IMAGENET_STD, np.float32)
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


# ---- images -------------------------------------------------------------------------------

def test_gray_rgba_16_bit_float_pil_and_tensor_images_convert():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    assert np.array_equal(to_rgb(gray), np.stack([gray] * 3, axis=2))
    rgba = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    assert np.array_equal(to_rgb(rgba), rgba[:, :, :3])
    assert np.array_equal(to_rgb(np.full((2, 2, 3), 65535, np.uint16)), np.full((2, 2, 3), 255))
    assert np.array_equal(to_rgb(np.ones((2, 2, 3)) * 0.5), np.full((2, 2, 3), 128))
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.array_equal(to_rgb(Image.fromarray(rgb)), rgb)
    assert np.array_equal(to_rgb(Image.fromarray(gray)), np.stack([gray] * 3, axis=2))
    assert np.array_equal(to_rgb(torch.from_numpy(rgb).permute(2, 0, 1)), rgb)


@pytest.mark.parametrize("image, match", [
    (np.full((4, 4, 3), 2.0), r"float image must hold values in \[0, 1\]"),
    (np.zeros((4, 4, 2), np.uint8), r"expected an \(H, W\), \(H, W, 3\)"),
    (torch.zeros(6, 5, 3, dtype=torch.uint8), "channels first"),
    (np.zeros((4, 4, 3), np.int64), "unsupported pixel type int64"),
])
def test_unusable_arrays_are_user_errors(image, match):
    with pytest.raises(UserError, match=match):
        to_rgb(image, "photo")


def test_files_are_read_as_rgb(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    Image.fromarray(np.dstack([rgb, np.full((6, 9), 7, np.uint8)])).save(tmp_path / "b.png")
    Image.fromarray(rgb[:, :, 0]).save(tmp_path / "c.png")
    assert np.array_equal(read_image(tmp_path / "a.png"), rgb)
    assert np.array_equal(read_image(tmp_path / "b.png"), rgb)
    assert np.array_equal(read_image(tmp_path / "c.png"), np.stack([rgb[:, :, 0]] * 3, axis=2))
    (tmp_path / "d.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(UserError, match=r"d\.jpg: not an image"):
        read_image(tmp_path / "d.jpg")


# ---- checkpoints --------------------------------------------------------------------------

def test_checkpoint_rebuilds_the_stored_model_and_padding_override(checkpoints):
    predictor = load_predictor(checkpoints["partial"])
    assert predictor.padding == "partial" and predictor.num_classes == 19
    assert load_predictor(checkpoints["partial"], padding="zeros").padding == "zeros"
    stored = torch.load(checkpoints["partial"], weights_only=False)["model"]
    assert all(torch.equal(predictor.model.state_dict()[k], v) for k, v in stored.items())


class Boom:
    def __reduce__(self):
        return (print, ("executed",))


@pytest.mark.parametrize("content, match", [
    ("missing", "not found"),
    ("garbage", "not a readable checkpoint|refused to load"),
    ("pickle", "refused to load"),
    ("tensor", "not a checkpoint dict"),
    ("dict", "not a segmentation checkpoint"),
    ("classes", r"weights do not fit deeplabv3plus_small with 5 classes \(classifier.weight"),
])
def test_bad_checkpoints_are_one_line_errors(tmp_path, capsys, content, match):
    path = tmp_path / "bad.pth"
    if content == "garbage":
        path.write_bytes(b"\x00" * 100)
    elif content == "pickle":  # weights_only loading refuses it before anything runs
        torch.save({"model": Boom(), "config": {}}, path)
    elif content == "tensor":
        torch.save(torch.zeros(3), path)
    elif content == "dict":  # a state_dict alone, without the config that rebuilds the model
        torch.save({"weight": torch.zeros(3)}, path)
    elif content == "classes":  # config of 5 classes, weights of 19: another run's files
        write_checkpoint(path, num_classes=5, weights_classes=19)
    with pytest.raises(UserError, match=match) as error:
        load_predictor(path)
    assert "\n" not in str(error.value)
    assert "executed" not in capsys.readouterr().out


# ---- predictions --------------------------------------------------------------------------

def test_predictions_are_the_models_argmax_and_small_images_are_refused(checkpoints):
    predictor = load_predictor(checkpoints["partial"])
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, size, dtype=np.uint8) for size in [(40, 52, 3), (29, 61, 3)]]
    maps, probabilities = predictor.predict(images, return_probabilities=True)
    for rgb, train_ids, probs in zip(images, maps, probabilities):
        with torch.no_grad():
            logits = predictor.model(normalised(rgb)[None])[0]
        assert torch.equal(train_ids, logits.argmax(0))
        torch.testing.assert_close(probs, logits.softmax(0), rtol=1e-4, atol=1e-5)
    with pytest.raises(UserError, match=r"tiny is 7x30 pixels, smaller than the output stride 8"):
        predictor.predict([images[0], np.zeros((7, 30, 3), np.uint8)], names=["a", "tiny"])
    with pytest.raises(UserError, match=r"scale 0.25 makes a 29x61 image 7x15"):
        predictor.predict(images[1], scales=(0.25, 1.0))


def test_zero_padding_images_run_unpadded(checkpoints):
    # Without partial padding a padded batch would move the predictions: sizes run apart.
    predictor = load_predictor(checkpoints["zeros"])
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, size, dtype=np.uint8) for size in [(40, 52, 3), (29, 61, 3)]]
    together = predictor.logits(images)
    for rgb, logits in zip(images, together):
        with torch.no_grad():
            torch.testing.assert_close(logits, predictor.model(normalised(rgb)[None])[0])


@pytest.mark.parametrize("mode", ["regular", "tile"])
def test_multi_scale_and_flip_average_the_logits_at_the_input_size(checkpoints, mode):
    predictor = load_predictor(checkpoints["partial"])
    rgb = np.random.default_rng(2).integers(0, 256, (36, 50, 3), dtype=np.uint8)
    scales = (0.5, 1.5)
    got = predictor.logits([rgb], mode=mode, tile=24, scales=scales, flip=True)[0]
    # The reference, one view at a time: scale (antialiased when shrinking), maybe mirror,
    # predict, mirror back, resize the logits to 36x50; then the mean of the four.
    image, views = normalised(rgb)[None], []
    for scale in scales:
        size = (round(36 * scale), round(50 * scale))
        scaled = F.interpolate(image, size=size, mode="bilinear", align_corners=False,
                               antialias=scale < 1)
        for mirror in (False, True):
            x = scaled.flip(-1) if mirror else scaled
            with torch.no_grad():
                if mode == "regular":
                    out = predictor.model(x)
                else:  # 24x24 tiles; the last of each axis shifted inward, overlaps averaged
                    out = tiled_reference(predictor.model, x, 24)
            out = out.flip(-1) if mirror else out
            views.append(F.interpolate(out, size=(36, 50), mode="bilinear", align_corners=False))
    torch.testing.assert_close(got, torch.stack(views).mean(0)[0], rtol=1e-4, atol=1e-5)


def tiled_reference(model, image, tile):
    """Non-overlapping tiles of side `tile` (shrunk to the image), averaged where they overlap."""
    _, _, h, w = image.shape
    th, tw = min(tile, h), min(tile, w)
    tops = sorted(set(list(range(0, h - th, th)) + [h - th]))
    lefts = sorted(set(list(range(0, w - tw, tw)) + [w - tw]))
    total, count = 0, torch.zeros(1, 1, h, w)
    for top in tops:
        for left in lefts:
            out = model(image[:, :, top:top + th, left:left + tw])
            total = total + F.pad(out, (left, w - left - tw, top, h - top - th))
            count[:, :, top:top + th, left:left + tw] += 1
    return total / count


def test_flip_averaging_is_mirror_symmetric(checkpoints):
    # Averaging an image with its mirror makes the prediction of the mirrored image the mirror
    # of the prediction: a property that fails if a view is not flipped back.
    predictor = load_predictor(checkpoints["partial"])
    rgb = np.random.default_rng(3).integers(0, 256, (33, 47, 3), dtype=np.uint8)
    a = predictor.logits([rgb], flip=True)[0]
    b = predictor.logits([np.ascontiguousarray(rgb[:, ::-1])], flip=True)[0]
    torch.testing.assert_close(a, b.flip(-1), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(predictor.logits([rgb])[0], a, atol=1e-4)
