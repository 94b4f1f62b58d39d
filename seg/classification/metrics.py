"""Top-k accuracy: counts per batch, summed over processes, percentages at the end."""
from __future__ import annotations

import torch

from seg.utils import distributed as dist
from seg.utils.errors import BadValueError


def topk_hits(logits: torch.Tensor, target: torch.Tensor, ks=(1, 5)) -> torch.Tensor:
    """Returns a bool (N, len(ks)): whether each sample's target is among its top-k logits, per k.

    k larger than the number of classes counts every sample (top-5 of a 4-class problem is 100%).
    Ties are broken by torch.topk, as in the official PyTorch ImageNet example.
    """
    kmax = min(max(ks), logits.shape[1])
    top = logits.topk(kmax, dim=1).indices  # (N, kmax), best first
    hit = top == target[:, None]
    return torch.stack([hit[:, :min(k, kmax)].any(dim=1) for k in ks], dim=1)


def topk_correct(logits: torch.Tensor, target: torch.Tensor, ks=(1, 5)) -> torch.Tensor:
    """Returns a float64 tensor: how many samples have their target in the top-k logits, per k."""
    return topk_hits(logits, target, ks).sum(0).double()


class TopKAccuracy:
    """Accumulates top-k hits over batches (and processes); `.percent()` -> {"top1": %, "top5":
    %}."""

    def __init__(self, ks=(1, 5)):
        self.ks = tuple(ks)
        self.correct = torch.zeros(len(self.ks), dtype=torch.float64)
        self.count = 0

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        """Adds one batch of logits (N, C) and integer targets (N,)."""
        self.correct += topk_correct(logits.detach().float(), target, self.ks).cpu()
        self.count += target.numel()

    def reduce_from_all_processes(self, device="cpu") -> None:
        """Sums the counts of every process into each one (no-op in one process)."""
        counts = torch.cat(
            [self.correct, torch.tensor([float(self.count)], dtype=torch.float64)]
        ).to(device)
        counts = dist.all_reduce_sum(counts).cpu()
        self.correct, self.count = counts[:-1], int(counts[-1].item())

    def percent(self) -> dict:
        """Returns {"top<k>": accuracy in percent} for each k."""
        if self.count == 0:
            raise BadValueError("no images were evaluated — is the validation folder empty?")
        return {f"top{k}": 100.0 * c / self.count for k, c in zip(self.ks, self.correct.tolist())}
