"""evaluate(..., scales, flip): the scored predictions are the written-out multi-scale and flip
average of the model's logits."""
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from seg.data import build_eval_dataset
from seg.data.synthetic import make_synthetic
from seg.evaluation import evaluate
from seg.evaluation.predictions import PredictionFolder
from seg.models import build_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import evaluate as evaluate_tool  # noqa: E402  (tools/evaluate.py)

pytestmark = pytest.mark.usefixtures("one_thread")


def reference(model, image, scales, flip):
    """Mean over scales (and mirrors) of the logits resized back to the image's size."""
    size, views = image.shape[-2:], []
    for scale in scales:
        scaled_size = (round(size[0] * scale), round(size[1] * scale))
        scaled = F.interpolate(image, size=scaled_size, mode="bilinear", align_corners=False,
                               antialias=scale < 1)
        for mirror in ((False, True) if flip else (False,)):
            out = model(scaled.flip(-1) if mirror else scaled)
            out = out.flip(-1) if mirror else out
            views.append(F.interpolate(out, size=size, mode="bilinear", align_corners=False))
    return torch.stack(views).mean(0)


@torch.no_grad()
def test_augmented_evaluation_scores_the_averaged_logits(tmp_path):
    make_synthetic(tmp_path / "data", train=0, val=2, extra=0, size=(48, 96), seed=0)
    dataset = build_eval_dataset(tmp_path / "data", "val")
    torch.manual_seed(0)
    model = build_model("deeplabv3plus_small").eval()
    scales = (0.75, 1.25)
    result = evaluate(model, dataset, scales=scales, flip=True, dump_dir=tmp_path / "dump",
                      progress=False)
    assert result["scales"] == list(scales) and result["flip"] is True
    folder = PredictionFolder(tmp_path / "dump/regular")
    differs = False
    for item in dataset:
        expected = reference(model, item["image"][None], scales, True).argmax(1)[0]
        assert torch.equal(folder.read(item["name"]), expected)
        differs |= not torch.equal(expected, model(item["image"][None]).argmax(1)[0])
    assert differs  # the augmentation changed something, so the test can tell


def test_cli_passes_scales_and_flip():
    args = evaluate_tool.parse_args(["--checkpoint", "a.pth", "--scales", "0.5", "1", "2",
                                     "--flip"])
    assert args.scales == [0.5, 1.0, 2.0] and args.flip
