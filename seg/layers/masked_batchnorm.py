"""BatchNorm whose train-mode statistics leave out the holes of a padded batch.

Training crops smaller than the crop size are padded, and nn.BatchNorm2d averages its batch
statistics over every position, holes included: the share of holes in a batch shifts the mean
and variance each layer normalises with. MaskedBatchNorm2d takes them over the real pixels only.

The mask reaches every layer without changing any model's forward: `with real_pixels(valid):`
around the model call holds the input-resolution mask, and each MaskedBatchNorm2d resizes it to
the size of its own input with nearest interpolation: a feature pixel is real when the input
pixel it samples is real (`feature_mask`). MaskedBatchNorm2d is nn.BatchNorm2d with another
forward (same parameters, buffers and state_dict keys), so checkpoints load into either, and in
eval mode, or without a mask, it computes exactly what nn.BatchNorm2d computes.
"""
import contextlib
import contextvars
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from seg.layers.valid import valid_or_none

# The input-resolution mask of the forward pass in progress; None: every pixel is real. A
# context variable, so each thread sees its own (torch.compile guards on its value).
_REAL_PIXELS = contextvars.ContextVar("real_pixels", default=None)


@contextlib.contextmanager
def real_pixels(valid: Optional[torch.Tensor]):
    """Yields with `valid` (N, 1, H, W), 1 on the real pixels of the model's input, as the mask of
    every MaskedBatchNorm2d's train-mode statistics; None or a mask without holes: plain BN."""
    if valid is not None and (valid.dim() != 4 or valid.shape[1] != 1):
        raise ValueError(f"real_pixels: valid has shape {tuple(valid.shape)}; pass the batch's "
                         "(N, 1, H, W) 'valid' mask (1 = real pixel) or None")
    # A mask of ones leaves the layers on nn.BatchNorm2d's own kernel (bit-identical results).
    token = _REAL_PIXELS.set(valid_or_none(valid))
    try:
        yield
    finally:
        _REAL_PIXELS.reset(token)


def feature_mask(valid: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Returns the (N, 1, h, w) mask of a feature map x (N, C, h, w) in x's compute dtype.

    Nearest resizing: a feature pixel is real when the input pixel it samples is real. A 1x1 map
    is a per-image summary (ASPP image pooling of the real pixels): it is real when its image
    has any real pixel, not only when the top-left input pixel is.
    """
    if x.shape[0] != valid.shape[0]:
        raise ValueError(f"MaskedBatchNorm2d: its input holds {x.shape[0]} images but the "
                         f"real_pixels mask {valid.shape[0]}; run the model on the batch whose "
                         "'valid' mask real_pixels holds")
    valid = valid.to(device=x.device, dtype=_compute_dtype(x))
    if tuple(x.shape[-2:]) == (1, 1):
        return valid.amax(dim=(2, 3), keepdim=True)
    if x.shape[-2:] == valid.shape[-2:]:
        return valid
    return F.interpolate(valid, size=x.shape[-2:], mode="nearest")


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    # Statistics in float32 at least: half-precision sums over a feature map lose the mean.
    return torch.promote_types(x.dtype, torch.float32)


class MaskedBatchNorm2d(nn.BatchNorm2d):
    """nn.BatchNorm2d whose batch statistics, inside `real_pixels(valid)`, cover real pixels only.

    The batch mean and biased variance normalise every position (holes too, so shapes do not
    change); the running statistics take nn.BatchNorm2d's momentum rule with the unbiased
    variance over the real-pixel count n, var * n / (n - 1). A map with fewer than two real
    pixels leaves the running statistics unchanged. Running statistics in use (eval mode) or no
    mask set: nn.BatchNorm2d's forward.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        valid = _REAL_PIXELS.get()
        batch_statistics = self.training or (self.running_mean is None
                                             and self.running_var is None)
        if valid is None or not batch_statistics:
            return super().forward(x)
        self._check_input_dim(x)
        factor = self._update_factor()
        mask = feature_mask(valid, x)
        values = x.to(mask.dtype)
        count = mask.sum()
        mean = (values * mask).sum(dim=(0, 2, 3)) / count.clamp(min=1)
        centred = values - mean[:, None, None]
        # two passes (centre, then square) keep the variance accurate for large means
        var = (centred.square() * mask).sum(dim=(0, 2, 3)) / count.clamp(min=1)
        out = centred * torch.rsqrt(var + self.eps)[:, None, None]
        if self.weight is not None:
            out = out * self.weight[:, None, None] + self.bias[:, None, None]
        if factor is not None:
            self._update_running(mean.detach(), var.detach(), count, factor)
        return out.to(x.dtype)

    def _update_factor(self) -> Optional[float]:
        """Returns the running statistics' momentum for this step, None when they are not kept
        (nn.BatchNorm2d's rule, counting the step in num_batches_tracked)."""
        if not (self.training and self.track_running_stats) or self.running_mean is None:
            return None
        self.num_batches_tracked.add_(1)
        if self.momentum is None:  # cumulative average
            return 1.0 / float(self.num_batches_tracked)
        return self.momentum

    @torch.no_grad()
    def _update_running(self, mean, var, count, factor: float) -> None:
        # A product instead of an if: no host sync to read the count.
        factor = factor * (count > 1).to(self.running_mean.dtype)
        unbiased = var * count / (count - 1).clamp(min=1)
        for running, batch in ((self.running_mean, mean), (self.running_var, unbiased)):
            running.mul_(1 - factor).add_(batch.to(running.dtype) * factor)


def convert_masked_batchnorm(module: nn.Module) -> nn.Module:
    """Returns module with every nn.BatchNorm2d (that class exactly; SyncBatchNorm and other
    subclasses keep their own forward) switched in place to MaskedBatchNorm2d.

    The class is swapped on the same module object, as set_padding does for convs:
    MaskedBatchNorm2d adds no state to nn.BatchNorm2d, so parameters, buffers, hooks and
    state_dict keys stay, and an optimizer built before still steps them.
    """
    for layer in module.modules():
        if type(layer) is nn.BatchNorm2d:
            layer.__class__ = MaskedBatchNorm2d
    return module


def count_masked_batchnorm(module: nn.Module) -> int:
    """Returns the number of MaskedBatchNorm2d layers in module."""
    return sum(isinstance(layer, MaskedBatchNorm2d) for layer in module.modules())
