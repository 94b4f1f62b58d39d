"""Setting up one training process: seeds, precision, model wrapping, devices and stop signals."""
from __future__ import annotations

import random
import signal

import numpy as np
import torch
from torch import nn

from seg.utils import distributed as dist


def seed_everything(seed: int) -> None:
    """Seeds python, numpy and torch (all devices) with `seed`."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def worker_init(worker_id: int) -> None:
    """Loader workers ignore Ctrl-C: the main process handles it and shuts them down after
    saving."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def resolve_amp(amp: str, device: torch.device):
    """Returns (autocast dtype or None, GradScaler or None) for train.amp = auto | off | bf16 |
    fp16.

    auto: bf16 on CUDA when supported, else fp16 with a GradScaler; off on the CPU, where bf16
    autocast is slower than float32 on most processors.
    """
    if amp == "auto":
        if device.type != "cuda":
            return None, None
        amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if amp == "off":
        return None, None
    if amp == "bf16":
        return torch.bfloat16, None
    if amp == "fp16":
        # fp16 gradients underflow without loss scaling
        return torch.float16, torch.amp.GradScaler(device.type)
    raise ValueError(f"train.amp={amp!r}: use auto, off, bf16 or fp16")


def uses_sync_batchnorm(world_size: int, device: torch.device) -> bool:
    """Returns whether prepare_model turns BatchNorm into SyncBatchNorm: several CUDA processes."""
    return world_size > 1 and device.type == "cuda"


def prepare_model(
    model: nn.Module, device: torch.device, *, channels_last: bool = False
) -> nn.Module:
    """Returns the model on `device`, with SyncBatchNorm and DDP when torchrun runs several
    processes.

    SyncBatchNorm only on CUDA (PyTorch has no CPU kernel for it); with gloo on the CPU each process
    normalises over its own batch, which is said once at start. The parameter objects are kept,
    so an optimiser built before this call still steps them.
    """
    world_size = dist.get_world_size()
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    if has_bn and uses_sync_batchnorm(world_size, device):
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        note = f"SyncBatchNorm over {world_size} processes"
    elif has_bn and world_size > 1:
        note = f"plain BatchNorm per process ({world_size} CPU processes; SyncBatchNorm needs CUDA)"
    elif has_bn:
        note = "plain BatchNorm (one process)"
    else:
        note = None
    if note and dist.is_main_process():
        print(f"normalisation: {note}")
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if world_size > 1:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    return model


def move_to_device(batch, device: torch.device, *, channels_last: bool = False):
    """Returns the batch (tensor, dict, list or tuple of them) on `device`; 4-d floats NHWC if
    asked."""
    if isinstance(batch, torch.Tensor):
        batch = batch.to(device, non_blocking=True)
        if channels_last and batch.dim() == 4 and batch.is_floating_point():
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, dict):
        return {k: move_to_device(v, device, channels_last=channels_last) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(v, device, channels_last=channels_last) for v in batch)
    return batch


class StopSignal:
    """Records SIGINT/SIGTERM instead of dying, so the loop can save last.pth and return; restore()
    undoes it."""

    def __init__(self):
        self.requested = False
        self.signal_name = None
        self._previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: signals cannot be caught here
                pass

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C means now
        self.requested = True
        self.signal_name = signal.Signals(signum).name

    def restore(self) -> None:
        """Puts back the handlers that were installed before."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
