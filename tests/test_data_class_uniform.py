"""Class-uniform sampling: rare classes drawn far more often; crops centred on them; the cache is
never stale."""
import json
import os

import numpy as np
import pytest
import torch
from data_tree import flat_frame, write_pair

import seg.data.class_uniform as class_uniform
from seg.data import build_train_dataset
from seg.data.splits import CITIES

RARE_TRAIN_ID = 16  # "train", labelId 31


@pytest.fixture
def tree(tmp_path):
    """20 all-road frames; one has a 4x4 patch of the rare class at (x 60..63, y 30..33)."""
    for index in range(20):
        image, label = flat_frame(64, 128, 7, seed=index)
        if index == 7:
            label[30:34, 60:64] = 31
        write_pair(
            tmp_path / "data", "train", CITIES["train"][index % 18], index // 18, image, label
        )
    return tmp_path


def rare_fraction(dataset, epochs=10):
    """Return the fraction of items, over `epochs` epochs, whose label crop contains the rare
    class."""
    hits = []
    for epoch in range(epochs):
        dataset.set_epoch(epoch)
        hits += [bool((dataset[i]["label"] == RARE_TRAIN_ID).any()) for i in range(len(dataset))]
    return np.mean(hits)


def build(tree, fraction, seed=0):
    return build_train_dataset(
        tree / "data",
        crop_size=32,
        coarse=False,
        class_uniform_fraction=fraction,
        seed=seed,
        cache_dir=tree / "cache",
        progress=False,
    )


def test_rare_class_is_drawn_far_more_often(tree):
    plain = rare_fraction(build(tree, 0.0))
    uniform = rare_fraction(build(tree, 0.5))
    # Plain: 1 image in 20, patch rarely inside the crop. Uniform: half the draws pick one of 2
    # classes.
    assert uniform > 0.15
    assert uniform > 5 * plain


def test_class_uniform_crops_are_centred_on_the_class(tree):
    dataset = build(tree, 1.0)
    hits = 0
    for index in range(40):
        image_index, center, _ = dataset.draw(index)
        assert center is not None
        label = dataset[index]["label"]
        if center in [tuple(p) for p in dataset.locations[image_index].get(RARE_TRAIN_ID, [])]:
            hits += 1
            assert (label[14:19, 14:19] == RARE_TRAIN_ID).any()  # the crop's centre, up to a pixel
    assert hits > 5


def test_items_depend_on_seed_epoch_and_index_only(tree):
    a, b = build(tree, 0.5, seed=1), build(tree, 0.5, seed=1)
    for index in (0, 5, 13):
        assert (
            torch.equal(a[index]["image"], b[index]["image"])
            and a[index]["name"] == b[index]["name"]
        )
    b.set_epoch(1)
    assert not torch.equal(a[0]["image"], b[0]["image"])
    assert not torch.equal(a[0]["image"], build(tree, 0.5, seed=2)[0]["image"])


def test_cache_is_reused_then_recomputed_when_the_data_changes(tree, monkeypatch):
    build(tree, 0.5)
    caches = list((tree / "cache").glob("class_uniform_*.json"))
    assert len(caches) == 1
    stored = json.loads(caches[0].read_text())
    assert len(stored["locations"]) == 20 and any(
        str(RARE_TRAIN_ID) in loc for loc in stored["locations"]
    )

    def fail(sample):
        raise AssertionError(f"recomputed {sample.label}")

    monkeypatch.setattr(class_uniform, "load_sample", fail)
    build(tree, 0.5)  # unchanged data: served from the cache, no label read
    image, label = flat_frame(64, 128, 26, seed=99)
    write_pair(tree / "data", "train", CITIES["train"][0], 0, image, label)
    os.utime(
        tree
        / "data"
        / "gtFine"
        / "train"
        / CITIES["train"][0]
        / "aachen_000000_000019_gtFine_labelIds.png",
        ns=(1, 1),
    )
    with pytest.raises(AssertionError, match="recomputed"):
        build(tree, 0.5)  # changed data: a new key, so the stale cache is not used


def test_items_do_not_depend_on_the_worker_that_loads_them(tree):
    from torch.utils.data import DataLoader

    from seg.data import collate_batch

    dataset = build(tree, 0.5, seed=3)
    batches = [
        list(DataLoader(dataset, batch_size=4, num_workers=workers, collate_fn=collate_batch))
        for workers in (0, 2)
    ]
    for a, b in zip(*batches):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])
        assert a["name"] == b["name"]
