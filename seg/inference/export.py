"""Export a model for deployment runtimes: ONNX with dynamic height and width, torch.export.

Both trace model(images) for one image batch without holes (no `valid`). The partial-padding
convs take their traced path under export (seg.layers.partial_conv: the ratio is computed from
the symbolic input size with a few tensor ops), so the exported graph computes the ratio of
whatever size it is given instead of a constant baked in at the example's size.
"""
from pathlib import Path

import torch
import torch.nn as nn

from seg.utils.errors import UserError
from seg.utils.files import write_atomic


def dynamic_shapes(min_side: int = 16, max_side: int = 4096) -> dict:
    """Returns torch.export's dynamic_shapes for model(images): batch, height and width free."""
    return {"images": {0: torch.export.Dim("batch", min=1, max=64),
                       2: torch.export.Dim("height", min=min_side, max=max_side),
                       3: torch.export.Dim("width", min=min_side, max=max_side)}}


def example_input(height: int = 64, width: int = 96) -> torch.Tensor:
    """Returns the example batch the export traces (two images: the batch size stays free)."""
    return torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(0))


def trace(model: nn.Module, *, min_side: int = 16) -> torch.export.ExportedProgram:
    """Returns model(images) traced by torch.export with batch, height and width dynamic."""
    return torch.export.export(model.eval(), (example_input(),),
                               dynamic_shapes=dynamic_shapes(min_side))


def save_program(program: torch.export.ExportedProgram, path) -> Path:
    """Returns path after saving the program there (torch.export.load reads it)."""
    return write_atomic(path, lambda tmp: torch.export.save(program, tmp))


def save_onnx(program: torch.export.ExportedProgram, path, *, optimize: bool = True) -> Path:
    """Returns path after writing the program as ONNX (input 'images' (N, 3, H, W), output
    'logits'), converted from the traced program so that the model is traced once."""
    try:
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it; an optional extra)
    except ImportError:
        raise UserError("ONNX export needs the 'export' extra: pip install -e '.[export]' "
                        "(onnx, onnxscript, onnxruntime)") from None
    onnx_program = torch.onnx.export(program, dynamo=True, input_names=["images"],
                                     output_names=["logits"], optimize=optimize)
    # One self-contained file (weights inside; ONNX allows up to 2 GB, WRN38 is 0.55 GB).
    return write_atomic(path, lambda tmp: onnx_program.save(str(tmp), external_data=False))


def export_onnx(model: nn.Module, path, *, min_side: int = 16, optimize: bool = True) -> Path:
    """Returns path after tracing model and writing it as ONNX (see save_onnx)."""
    return save_onnx(trace(model, min_side=min_side), path, optimize=optimize)


