"""Process-group helpers that fall back to one process when torchrun is not used."""
from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist


def init_distributed(device: str = "auto") -> torch.device:
    """Returns this process's device, joining torchrun's process group when its env is set.

    nccl on CUDA, gloo on the CPU; `device` is "auto", "cpu" or "cuda".
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "train.device=cuda but torch sees no CUDA device — use train.device=cpu or auto"
        )
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local_rank)
    if world_size > 1 and not is_initialized():
        backend = "nccl" if device == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
    return torch.device("cuda", local_rank) if device == "cuda" else torch.device("cpu")


def is_initialized() -> bool:
    """Returns whether a process group is running (torchrun with more than one process)."""
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """Returns this process's global rank (0 in one process)."""
    return dist.get_rank() if is_initialized() else 0


def get_world_size() -> int:
    """Returns the number of training processes (1 without torchrun)."""
    return dist.get_world_size() if is_initialized() else 1


def is_main_process() -> bool:
    """Returns True on rank 0, the only process that writes files and prints progress."""
    return get_rank() == 0


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Returns `tensor` summed over all processes, in place (unchanged in one process)."""
    if get_world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_gather_object(obj) -> list:
    """Returns the list of `obj` from every rank, in rank order ([obj] in one process)."""
    if get_world_size() == 1:
        return [obj]
    out = [None] * get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    """Waits for every process (no-op in one process)."""
    if get_world_size() > 1:
        dist.barrier()


def cleanup() -> None:
    """Leaves the process group, if one was joined."""
    if is_initialized():
        dist.destroy_process_group()


def broadcast_buffers(module: torch.nn.Module) -> None:
    """Copies rank 0's buffers (BatchNorm running statistics) to every rank (no-op in one process).

    DDP keeps parameters equal but each rank's last forward updates its own running statistics;
    this makes the ranks agree before a sharded validation and at the end of training.
    """
    if get_world_size() > 1:
        for buffer in module.buffers():
            dist.broadcast(buffer.data, src=0)
