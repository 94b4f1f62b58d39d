"""The synthetic ImageFolder: deterministic per seed, readable by torchvision, objects touching the
border."""
import hashlib

import numpy as np
import torchvision

from seg.classification.synthetic import CLASS_NAMES, make_synthetic_imagefolder, render_image


def digest(root):
    return {p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.png"))}


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    def write(name, seed):
        return digest(
            make_synthetic_imagefolder(
                tmp_path / name, classes=3, train_per_class=2, val_per_class=1, size=24, seed=seed
            )
        )

    a, b, c = write("a", 5), write("b", 5), write("c", 6)
    assert a == b
    assert set(a) == set(c) and all(a[k] != c[k] for k in a)


def test_imagefolder_layout_is_what_torchvision_reads(tmp_path):
    root = make_synthetic_imagefolder(
        tmp_path, classes=4, train_per_class=3, val_per_class=2, size=20
    )
    train = torchvision.datasets.ImageFolder(str(root / "train"))
    val = torchvision.datasets.ImageFolder(str(root / "val"))
    assert train.classes == sorted(CLASS_NAMES[:4]) == val.classes
    assert len(train) == 12 and len(val) == 8
    image, _ = train[0]
    assert image.size == (20, 20) and image.mode == "RGB"


def test_every_object_touches_the_border_and_stays_visible():
    for i in range(60):
        name = CLASS_NAMES[i % len(CLASS_NAMES)]
        image, mask = render_image(name, 32, np.random.default_rng(i))
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8
        border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
        assert border.any(), name
        assert mask.mean() > 0.05, name  # enough of the object stays inside to name the class
