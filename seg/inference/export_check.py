"""Checks of an exported model: onnxruntime's logits against PyTorch's at given sizes."""
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from seg.utils.errors import UserError


def parse_size(text: str) -> Tuple[int, int]:
    """Returns (height, width) from 'HxW' (UserError otherwise)."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UserError(f"size {text!r}: write it as HEIGHTxWIDTH, e.g. 64x96") from None
    return height, width


@torch.no_grad()
def onnx_differences(model: nn.Module, path, sizes: Sequence[Tuple[int, int]],
                     seed: int = 0) -> List[Tuple[Tuple[int, int], float]]:
    """Returns [(size, max |onnxruntime logits - PyTorch logits|)] on random images."""
    if not sizes:
        return []
    try:
        import onnxruntime  # an optional extra: only this check needs it
    except ImportError:
        raise UserError("checking ONNX needs the 'export' extra: pip install -e '.[export]'") \
            from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for height, width in sizes:
        images = torch.randn(1, 3, height, width, generator=generator)
        expected = model.eval()(images).numpy()
        got = session.run(None, {session.get_inputs()[0].name: images.numpy()})[0]
        rows.append(((height, width), float(np.abs(got - expected).max())))
    return rows


@torch.no_grad()
def program_differences(model: nn.Module, path, sizes: Sequence[Tuple[int, int]],
                        seed: int = 0) -> List[Tuple[Tuple[int, int], float]]:
    """Returns [(size, max |torch.export program logits - model logits|)] on random images."""
    program = torch.export.load(str(path)).module()
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for height, width in sizes:
        images = torch.randn(1, 3, height, width, generator=generator)
        rows.append(((height, width),
                     float((program(images) - model.eval()(images)).abs().max())))
    return rows
