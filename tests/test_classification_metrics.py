"""Top-k accuracy against a plain-python reference (sorting each row), and its sum over batches."""
import pytest
import torch

from seg.classification.metrics import TopKAccuracy, topk_correct


def reference_hits(logits, target, k):
    hits = 0
    for row, t in zip(logits.tolist(), target.tolist()):
        ranked = sorted(range(len(row)), key=lambda c: -row[c])
        hits += t in ranked[:k]
    return hits


def test_topk_correct_matches_sorting_each_row():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 10, generator=g)
    target = torch.randint(0, 10, (50,), generator=g)
    got = topk_correct(logits, target, ks=(1, 3, 5))
    assert got.tolist() == [reference_hits(logits, target, k) for k in (1, 3, 5)]


def test_topk_beyond_the_number_of_classes_counts_everything():
    logits = torch.tensor([[0.1, 0.9, 0.0], [2.0, 1.0, 3.0]])
    target = torch.tensor([0, 2])
    assert topk_correct(logits, target, ks=(1, 5)).tolist() == [1.0, 2.0]


def test_accuracy_accumulates_over_batches_in_percent():
    meter = TopKAccuracy((1, 5))
    # class 5 ranks 6th: wrong even for top-5
    third = torch.tensor([[0.5, 0.4, 5.0, 0.3, 0.2, 0.1]])
    meter.update(torch.cat([torch.eye(6)[:2] * 5, third]), torch.tensor([0, 1, 5]))  # 2 of 3 right
    meter.update(torch.eye(6)[:1], torch.tensor([0]))  # right
    meter.reduce_from_all_processes()
    assert meter.percent() == {"top1": pytest.approx(75.0), "top5": pytest.approx(75.0)}
    with pytest.raises(ValueError, match="empty"):
        TopKAccuracy().percent()
