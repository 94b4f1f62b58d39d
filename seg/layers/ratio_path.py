"""How the padding ratio is applied to a convolution's output: border strips or one fused op.

Two paths give the same numbers (paper eq. 4-5: conv * ratio + bias where a window has a real
tap, 0 where it has none) at different costs:

* "strips": the conv adds its bias, then each border strip is re-weighted in place (about 7-16
  small operations per conv). Fewest bytes touched: the interior is never read again. Right where
  memory traffic dominates, a CPU.
* "fused": the conv runs without bias and one addcmul(bias, output, ratio map) writes the result
  in place: one operation more than zero padding per conv, but one pass over the whole output.
  Right where each operation is a kernel launch of a few microseconds, a GPU.

Under autograd both paths take the fused operation (one multiply forward and one backward); the
choice matters for inference. The path is picked from the device type of the input
(DEVICE_PATHS), overridden for a whole process by the environment variable SEG_PARTIAL_PATH
(auto | strips | fused) or for a block of code by `with partial_path("fused"):`.
"""
import contextlib
import os
import threading
import weakref
from typing import Optional

import torch

PATHS = ("auto", "strips", "fused")
# Device type -> path under "auto"; any other device type takes the launch-bound "fused".
DEVICE_PATHS = {"cpu": "strips"}

_lock = threading.Lock()


def _check(path: str, source: str) -> str:
    if path not in PATHS:
        raise ValueError(f"{source}={path!r} is not a partial-padding path; choose one of "
                         f"{', '.join(PATHS)}")
    return path


# One process-wide setting (not thread-local: DataParallel replicas run in their own threads).
_setting = _check(os.environ.get("SEG_PARTIAL_PATH", "auto"), "SEG_PARTIAL_PATH")


def ratio_path(device: torch.device) -> str:
    """Returns "strips" or "fused": the setting, or under "auto" the device type's path."""
    if _setting != "auto":
        return _setting
    return DEVICE_PATHS.get(device.type, "fused")


@contextlib.contextmanager
def partial_path(path: Optional[str]):
    """Within the block, every partial-padding conv takes `path` (None: leave the setting)."""
    global _setting
    if path is None:
        yield
        return
    _check(path, "path")
    with _lock:
        before, _setting = _setting, path
    try:
        yield
    finally:
        with _lock:
            _setting = before


# A (C, 1, 1) view of each bias, made once: a view is itself a dispatched operation, as many as
# the addcmul it feeds. Keyed on id(bias) with a weak reference that drops the entry when the
# bias dies (tensors compare elementwise, so they cannot be dict keys by equality); the data
# pointer is checked because module.to(dtype) and .half() replace a parameter's data under the
# same Parameter object.
_BIAS_VIEWS: dict = {}


def bias_view(bias: torch.Tensor) -> torch.Tensor:
    """Returns bias as (C, 1, 1), sharing its storage (in-place updates show through)."""
    entry = _BIAS_VIEWS.get(id(bias))
    stamp = (bias.data_ptr(), bias.dtype)
    if entry is None or entry[0]() is not bias or entry[1] != stamp:
        # Detached, so the view holds no reference to the Parameter (the weak reference stays
        # weak); never an inference tensor, so a view cached during evaluation serves training.
        with torch.inference_mode(False), torch.no_grad():
            view = bias.detach().view(-1, 1, 1)
        key = id(bias)
        entry = (weakref.ref(bias, lambda _: _BIAS_VIEWS.pop(key, None)), stamp, view)
        with _lock:
            _BIAS_VIEWS[key] = entry
    return entry[2]


def _fuse_in_place(output, bias, ratio, keep) -> None:
    if bias is None:
        output.mul_(ratio)  # the ratio is 0 where a window has no real tap
        return
    torch.addcmul(bias_view(bias), output, ratio, out=output)
    if keep is not None:  # a window with no real tap: 0, its bias included
        output.mul_(keep)


class _FusedRatio(torch.autograd.Function):
    """output * ratio + bias * keep in place on the conv output, with its own backward.

    The conv does not keep its output for backward, so writing over it costs no memory; the
    backward needs only the cached ratio (and keep).
    """

    @staticmethod
    def forward(ctx, output, bias, ratio, keep):
        _fuse_in_place(output, bias, ratio, keep)
        ctx.mark_dirty(output)
        ctx.save_for_backward(ratio, keep)
        ctx.bias_dtype = None if bias is None else bias.dtype
        return output

    @staticmethod
    def backward(ctx, grad):
        ratio, keep = ctx.saved_tensors
        grad_output = grad * ratio if ctx.needs_input_grad[0] else None
        grad_bias = None
        if ctx.needs_input_grad[1]:
            seen = grad if keep is None else grad * keep
            dims = [d for d in range(grad.dim()) if d != grad.dim() - 3]  # all but channels
            grad_bias = seen.sum(dims).to(ctx.bias_dtype)
        return grad_output, grad_bias, None, None


def fused_ratio(output, bias, ratio, keep, record: bool) -> torch.Tensor:
    """Returns output (a conv without bias) * ratio + bias where keep, else 0, in place.

    One operation (addcmul, or mul without bias), plus one where some window has no real tap and
    there is a bias. record: autograd records the operation (the inputs require grad).
    """
    if record and bias is not None:  # without a bias, autograd's own in-place mul suffices
        return _FusedRatio.apply(output, bias, ratio, keep)
    _fuse_in_place(output, bias, ratio, keep)
    return output
