"""The paper's Table 1: inference time with zero vs partial padding, 1st iteration and after.

One model instance per case, switched between padding implementations in place (same weights,
same memory), every variant timed in each interleaved repetition (seg.utils.timing):

  zero            zero padding
  zero (A/A)      zero padding again: its "overhead" is pure noise, the floor to read others by
  partial (1st)   seg.layers partial padding right after clear_ratio_cache(): every ratio is
                  computed, as in a fresh process or at a new input size
  partial         seg.layers with its cache warm ("2nd - nth iteration"), on the device's ratio
                  path (seg.layers.ratio_path: border strips on a CPU, one fused op on a GPU)
  partial (fused) / partial (strips)
                  the same forced onto the other path: what the device's choice gains
  maskconv (1st)  the mask-convolution baseline (seg.benchmark.mask_conv) after its per-module
                  ratio maps are dropped
  maskconv        the baseline with its ratio maps in place
  mask 7/8        segmentation models only: partial mode with mask propagation, each image's
                  real region the top-left 7/8 x 7/8 (a padded batch; holes are skipped)
  mask -8px       the same with only the last 8 rows and columns holes: the cost of the mask
                  machinery when there is almost nothing to skip
  zero (compiled), partial (compiled), zero (compiled, A/A)
                  with --compile: torch.compile'd copies of the model in each padding mode (the
                  warm-up compiles them); their ratios are read against zero (compiled)
"""
import copy
from dataclasses import dataclass
from typing import Dict, Optional

import torch
import torch.nn as nn
import torchvision

from seg.benchmark.mask_conv import clear_mask_conv_cache, use_padding
from seg.layers import clear_ratio_cache, partial_path, set_padding
from seg.layers.ratio_path import ratio_path
from seg.models import MODEL_NAMES, build_model
from seg.utils.errors import BadValueError
from seg.utils.timing import interleaved_times, relative

CLASSIFIERS = {"vgg16_bn": torchvision.models.vgg16_bn, "resnet50": torchvision.models.resnet50}
SEGMENTERS = ("deeplabv3plus_resnet50", "deeplabv3plus_wrn38")
MODELS = tuple(CLASSIFIERS) + SEGMENTERS


@dataclass
class Case:
    model: str
    batch: int
    height: int
    width: int


def build_benchmark_model(name: str) -> nn.Module:
    """Returns the named model with random weights (seeded), zero padding, eval mode."""
    torch.manual_seed(0)
    if name in CLASSIFIERS:
        model = CLASSIFIERS[name](weights=None)
    elif name in MODEL_NAMES:  # the paper's two, or the small CPU recipe model (tests)
        model = build_model(name, padding="zeros")
    else:
        raise BadValueError(f"benchmark model {name!r} is unknown; choose from "
                         f"{', '.join(MODELS + MODEL_NAMES)}")
    return model.eval()


def corner_valid(batch, height, width, real_height, real_width, device=None):
    """Returns a (batch, 1, height, width) mask, real in the top-left real_height x real_width."""
    valid = torch.zeros(batch, 1, height, width, device=device)
    valid[:, :, :real_height, :real_width] = 1
    return valid


def inference_variants(model: nn.Module, x: torch.Tensor, segmentation: bool,
                       compile_backend: Optional[str] = None) -> Dict:
    """Returns the timed variants of the module docstring: {name: (setup, run)}."""
    def mode(name, clear=None):
        def setup():
            use_padding(model, name)
            if clear is not None:
                clear()
        return setup

    def forward():
        return model(x)

    other = "fused" if ratio_path(x.device) == "strips" else "strips"

    def forward_other():
        with partial_path(other):
            return model(x)

    variants = {
        "zero": (mode("zeros"), forward),
        "partial (1st)": (mode("partial", clear_ratio_cache), forward),
        "partial": (mode("partial"), forward),
        f"partial ({other})": (mode("partial"), forward_other),
        "maskconv (1st)": (mode("maskconv", lambda: clear_mask_conv_cache(model)), forward),
        "maskconv": (mode("maskconv"), forward),
        "zero (A/A)": (mode("zeros"), forward),
    }
    if segmentation:
        n, _, h, w = x.shape
        for name, real in (("mask 7/8", (h * 7 // 8, w * 7 // 8)), ("mask -8px", (h - 8, w - 8))):
            valid = corner_valid(n, h, w, *real, device=x.device)
            variants[name] = (mode("partial"), lambda valid=valid: model(x, valid))
    if compile_backend:
        variants.update(compiled_variants(model, x, compile_backend))
    return variants


def compiled_variants(model: nn.Module, x: torch.Tensor, backend: str) -> Dict:
    """Returns {"zero (compiled)", "partial (compiled)", "zero (compiled, A/A)"}: torch.compile'd
    copies of model (one per padding mode, so switching modes never recompiles)."""
    compiled = {}
    for padding in ("zeros", "partial"):
        copied = set_padding(copy.deepcopy(use_padding(model, "zeros")), padding)
        compiled[padding] = torch.compile(copied, backend=backend)
    return {"zero (compiled)": lambda: compiled["zeros"](x),
            "partial (compiled)": lambda: compiled["partial"](x),
            "zero (compiled, A/A)": lambda: compiled["zeros"](x)}


def benchmark_inference(case: Case, *, repeats: int, warmup: int, clock: str,
                        device: torch.device, compile_backend: Optional[str] = None) -> dict:
    """Returns one Table 1 block: {"case", "ms": {variant: median}, "relative": {variant:
    [median ratio to zero (compiled variants: to zero (compiled)) - 1, IQR]}, "raw_s"}."""
    model = build_benchmark_model(case.model).to(device)
    x = torch.randn(case.batch, 3, case.height, case.width, device=device)
    variants = inference_variants(model, x, case.model in SEGMENTERS, compile_backend)
    with torch.inference_mode():
        times = interleaved_times(variants, repeats=repeats, warmup=warmup, clocks=(clock,),
                                  device=device)[clock]
    use_padding(model, "zeros")
    ms = {name: 1e3 * sorted(t)[len(t) // 2] for name, t in times.items()}
    return {"case": vars(case), "ms": ms,
            "relative": {name: list(relative(times, name, "zero (compiled)" if "compiled" in name
                                             else "zero")) for name in times},
            "raw_s": times}
