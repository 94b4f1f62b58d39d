"""Batching: tensors stacked, names a list, mismatched sizes refused."""
import pytest
import torch

from seg.data import collate_batch


def item(h, w, name):
    return {"image": torch.rand(3, h, w), "label": torch.zeros(h, w, dtype=torch.long),
            "valid": torch.ones(1, h, w), "name": name}


def test_stacks_tensors_and_lists_names():
    items = [item(4, 6, "a.png"), item(4, 6, "b.png")]
    batch = collate_batch(items)
    assert batch["image"].shape == (2, 3, 4, 6) and batch["valid"].shape == (2, 1, 4, 6)
    assert batch["label"].dtype == torch.int64
    assert torch.equal(batch["image"][1], items[1]["image"])
    assert batch["name"] == ["a.png", "b.png"]


def test_different_sizes_are_refused():
    with pytest.raises(ValueError, match="batch size 1"):
        collate_batch([item(4, 6, "a"), item(4, 8, "b")])
