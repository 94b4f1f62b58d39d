"""Exported models against PyTorch: onnxruntime and torch.export at sizes the trace never saw,
for zero and partial padding (the partial ratio must follow the input size)."""
import re
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from test_predict_api import write_checkpoint

from seg.inference.export import export_onnx
from seg.inference.export_check import onnx_differences
from seg.layers import set_padding

onnxruntime = pytest.importorskip("onnxruntime")  # the optional 'export' extra
pytest.importorskip("onnxscript")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import export as export_tool  # noqa: E402  (tools/export.py)

SIZES = [(16, 16), (37, 53), (64, 31)]  # the trace uses 64x96


class Strided(nn.Module):
    """Strided, dilated and 7x7 convs with bias, and the resize back: every ratio shape."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, 2, 1)
        self.b = nn.Conv2d(8, 8, 3, 1, 2, dilation=2)
        self.c = nn.Conv2d(8, 4, 7, 2, 3)

    def forward(self, images):
        x = self.c(torch.relu(self.b(torch.relu(self.a(images)))))
        return F.interpolate(x, size=images.shape[-2:], mode="bilinear", align_corners=False)


@pytest.mark.slow
def test_onnx_follows_the_input_size_for_zero_and_partial_padding(tmp_path):
    outputs = {}
    for padding in ("zeros", "partial"):
        torch.manual_seed(0)
        model = set_padding(Strided(), padding).eval()
        path = export_onnx(model, tmp_path / f"{padding}.onnx", optimize=False)
        for size, difference in onnx_differences(model, path, SIZES):
            assert difference < 1e-5, (padding, size, difference)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        image = torch.randn(1, 3, 37, 53, generator=torch.Generator().manual_seed(1))
        outputs[padding] = torch.from_numpy(session.run(None, {"images": image.numpy()})[0])
    # The exported partial model re-weights the border: it is not the zero padding graph.
    assert (outputs["zeros"] - outputs["partial"]).abs().max() > 1e-3


@pytest.mark.slow
def test_tool_exports_the_partial_model_to_onnx_and_torch_export(tmp_path, capsys):
    checkpoint = write_checkpoint(tmp_path / "partial.pth", "partial")
    code = export_tool.main(["--checkpoint", str(checkpoint), "--out", str(tmp_path / "out"),
                             "--check", *[f"{h}x{w}" for h, w in SIZES]])
    assert code == 0
    printed = capsys.readouterr().out
    differences = [float(x) for x in re.findall(r"difference\| ([0-9.e+-]+)", printed)]
    assert len(differences) == 2 * len(SIZES) and max(differences) < 1e-4, printed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["partial.onnx", "partial.pt2"]
