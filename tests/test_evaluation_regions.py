"""Center leave-out masks and distance-to-border bands, against hand-computed and brute-force
references."""
from fractions import Fraction

import pytest
import torch

from seg.evaluation.border_scores import BorderScores
from seg.evaluation.confusion import ConfusionMatrix
from seg.evaluation.regions import (
    band_names,
    border_distance,
    center_leave_out_mask,
    distance_bands,
    leave_out_rings,
    parse_leave_out,
)


def test_leave_out_mask_by_hand():
    keep = center_leave_out_mask(8, 16, Fraction(1, 2))
    expected = torch.ones(8, 16, dtype=torch.bool)
    expected[2:6, 4:12] = False  # the central 4 x 8 pixels
    assert torch.equal(keep, expected)
    assert center_leave_out_mask(8, 16, 0).all()


def test_leave_out_on_a_cityscapes_image():
    for p, (h, w) in {"1/3": (341, 683), "1/2": (512, 1024), "7/8": (896, 1792)}.items():
        keep = center_leave_out_mask(1024, 2048, parse_leave_out(p))
        rows, cols = torch.nonzero(~keep, as_tuple=True)
        assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (h, w)
        assert int((~keep).sum()) == h * w
        # Centered: the margins on both sides differ by at most one pixel.
        assert abs(int(rows.min()) - (1023 - int(rows.max()))) <= 1
        assert abs(int(cols.min()) - (2047 - int(cols.max()))) <= 1


def test_parse_leave_out_rejects_bad_values():
    assert parse_leave_out("3/4") == Fraction(3, 4) and parse_leave_out("0.5") == Fraction(1, 2)
    for bad in ("1", "-1/3", "abc"):
        with pytest.raises(ValueError, match="leave-out"):
            parse_leave_out(bad)


def test_all_proportions_from_one_pass_equal_masking_each():
    torch.manual_seed(0)
    props = [parse_leave_out(p) for p in ("0", "1/3", "1/2", "2/3", "3/4", "7/8")]
    scores = BorderScores(5, leave_out=props)
    refs = [ConfusionMatrix(5) for _ in props]
    for _ in range(3):
        label = torch.randint(0, 5, (24, 40))
        label[0, :7] = 255
        pred = torch.randint(0, 5, (24, 40))
        scores.update(label, pred)
        for p, ref in zip(props, refs):
            masked = label.clone()
            masked[~center_leave_out_mask(24, 40, p)] = 255
            ref.update(masked, pred)
    for ours, ref in zip(scores.by_leave_out, refs):
        assert torch.equal(ours.mat, ref.mat)
    assert scores.by_leave_out[-1].pixels() < scores.by_leave_out[0].pixels()
    assert int(leave_out_rings(24, 40, props).min()) == 1  # p = 0 scores every pixel


def brute_force_distance(h, w, boxes):
    # Per pixel: the smallest distance to an edge of any box (top, left, bh, bw) that contains it.
    out = torch.zeros(h, w, dtype=torch.int64)
    for y in range(h):
        for x in range(w):
            out[y, x] = min(min(y - t, t + bh - 1 - y, x - l, l + bw - 1 - x)
                            for t, l, bh, bw in boxes if t <= y < t + bh and l <= x < l + bw)
    return out


def test_image_border_distance():
    assert torch.equal(border_distance(9, 14), brute_force_distance(9, 14, [(0, 0, 9, 14)]))
    assert int(border_distance(1024, 2048).max()) == 511


def test_tile_border_distance():
    # tile 5, overlap 1/3 -> stride 4: rows start at 0, 4, 6; columns at 0, 4, 8, 12, 13.
    boxes = [(t, l, 5, 5) for t in (0, 4, 6) for l in (0, 4, 8, 12, 13)]
    assert torch.equal(
        border_distance(11, 18, tile=5, overlap=1 / 3), brute_force_distance(11, 18, boxes)
    )
    boxes = [(0, l, 7, 7) for l in (0, 7, 9)]
    assert torch.equal(
        border_distance(7, 16, tile=7, overlap=0), brute_force_distance(7, 16, boxes)
    )


def test_distance_bands():
    d = torch.tensor([0, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 5000])
    assert distance_bands(d).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert band_names() == ["0-16", "16-32", "32-64", "64-128", "128-256", "256+"]


def test_band_scores_partition_the_image():
    torch.manual_seed(1)
    label, pred = torch.randint(0, 4, (40, 70)), torch.randint(0, 4, (40, 70))
    scores = BorderScores(4, edges=(3, 8), tile=32, overlap=0)
    scores.update(label, pred)
    for kind, matrices in scores.by_band.items():
        assert torch.equal(sum(m.mat for m in matrices), scores.by_leave_out[0].mat)
    # Band 0 of the image border holds exactly the pixels within 3 px of the border.
    ref = ConfusionMatrix(4)
    near = label.clone()
    near[3:-3, 3:-3] = 255
    ref.update(near, pred)
    assert torch.equal(scores.by_band["image_border"][0].mat, ref.mat)
