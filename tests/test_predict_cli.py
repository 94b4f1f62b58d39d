"""tools/predict.py end to end: a folder of mixed files and a video, outputs checked against
cityscapesscripts' label table, reruns, bad files, and the comparison of two checkpoints."""
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from cityscapesscripts.helpers.labels import id2label, trainId2label
from PIL import Image
from test_predict_api import write_checkpoint

from seg.inference import load_predictor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import predict as predict_tool  # noqa: E402  (tools/predict.py)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    (folder / "sub").mkdir()
    Image.fromarray(rng.integers(0, 256, (40, 64, 3), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 256, (37, 45, 3), dtype=np.uint8)).save(folder / "a.jpg")
    Image.fromarray(rng.integers(0, 256, (30, 41), dtype=np.uint8)).save(folder / "sub/gray.png")
    Image.fromarray(rng.integers(0, 256, (33, 35, 4), dtype=np.uint8)).save(folder / "rgba.png")
    Image.fromarray(rng.integers(0, 256, (5, 40, 3), dtype=np.uint8)).save(folder / "tiny.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    (folder / "notes.txt").write_text("not an image")
    video = cv2.VideoWriter(str(folder / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5, (48, 32))
    for _ in range(2):
        video.write(rng.integers(0, 256, (32, 48, 3), dtype=np.uint8))
    video.release()
    ckpts = tmp_path_factory.mktemp("ckpt")
    return folder, {p: write_checkpoint(ckpts / f"{p}.pth", p) for p in ("zeros", "partial")}


NAMES = ["a_png", "a_jpg", "sub/gray", "rgba", "clip/frame_000000", "clip/frame_000001"]


def test_folder_to_overlays_and_label_ids(inputs, tmp_path, capsys):
    folder, ckpts = inputs
    out = tmp_path / "out"
    assert predict_tool.main([str(folder), "--checkpoint", str(ckpts["partial"]), "--out",
                              str(out), "--no-progress", "--batch-size", "3"]) == 1
    captured = capsys.readouterr()
    assert "6 written, 0 already there" in captured.out
    assert "notes.txt" in captured.out  # listed as ignored
    assert "broken.jpg: not an image" in captured.err
    assert "tiny.png is 5x40 pixels, smaller than the output stride 8" in captured.err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(f"{kind}/{name}.png" for kind in ("overlay", "labelIds")
                             for name in NAMES)
    # The outputs against the prediction API and cityscapesscripts' table (ids and colours).
    predictor = load_predictor(ckpts["partial"])
    rgb = np.array(Image.open(folder / "sub/gray.png").convert("RGB"))
    train_ids = predictor.predict(rgb).numpy()
    label_ids = np.array(Image.open(out / "labelIds/sub/gray.png"))
    assert label_ids.dtype == np.uint8 and label_ids.shape == (30, 41)
    assert np.array_equal(np.vectorize(lambda i: id2label[i].trainId)(label_ids), train_ids)
    colours = np.array([trainId2label[t].color for t in range(19)], np.float32)[train_ids]
    expected = np.rint(0.5 * rgb + 0.5 * colours).astype(np.uint8)
    assert np.array_equal(np.array(Image.open(out / "overlay/sub/gray.png")), expected)

    # A rerun writes nothing new; a missing output is redone; no temporary file is left.
    (out / "overlay/rgba.png").unlink()
    before = (out / "labelIds/a_png.png").stat().st_mtime_ns
    assert predict_tool.main([str(folder), "--checkpoint", str(ckpts["partial"]), "--out",
                              str(out), "--no-progress"]) == 1
    assert "1 written, 5 already there" in capsys.readouterr().out
    assert (out / "labelIds/a_png.png").stat().st_mtime_ns == before
    assert (out / "overlay/rgba.png").is_file()
    assert not [p for p in out.rglob(".*") if p.is_file()]


def test_two_checkpoints_write_the_comparison(inputs, tmp_path, capsys):
    folder, ckpts = inputs
    out = tmp_path / "out"
    assert predict_tool.main([str(folder / "a.png"), "--checkpoint", str(ckpts["zeros"]),
                              str(ckpts["partial"]), "--out", str(out), "--no-progress"]) == 0
    figure = np.array(Image.open(out / "compare/a.png"))
    assert figure.shape[1] > 4 * 512 and figure.ndim == 3
    for key in ("zero", "partial"):
        assert (out / key / "labelIds/a.png").is_file() and (out / key / "overlay/a.png").is_file()


@pytest.mark.parametrize("case, match", [("swapped", "zero padding model first"),
                                         ("classes", "predicts 10 classes")])
def test_mismatched_checkpoints_are_refused(inputs, tmp_path, capsys, case, match):
    folder, ckpts = inputs
    if case == "swapped":
        pair = [ckpts["partial"], ckpts["zeros"]]
    else:  # the overlays and labelIds are Cityscapes' 19 classes
        pair = [ckpts["zeros"], write_checkpoint(tmp_path / "ten.pth", "partial", num_classes=10)]
    code = predict_tool.run_cli(predict_tool.main, [str(folder / "a.png"), "--checkpoint",
                                                    *map(str, pair), "--out", str(tmp_path / "o")])
    assert code == 2 and match in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before anything is written


def test_missing_input_is_a_user_error(tmp_path, capsys, inputs):
    _, ckpts = inputs
    code = predict_tool.run_cli(predict_tool.main, [str(tmp_path / "nothing*.png"), "--checkpoint",
                                                    str(ckpts["partial"]), "--out", str(tmp_path)])
    assert code == 2 and "no images or videos found" in capsys.readouterr().err


def test_an_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    # The encoder dies half way (a kill, a full disk): neither the PNG nor its temporary remains.
    from seg.inference import outputs

    def dies_half_way(path, pixels):
        Path(path).write_bytes(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs.cv2, "imwrite", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        outputs.write_png(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []
