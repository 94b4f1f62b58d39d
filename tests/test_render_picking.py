"""--pick border-diff: the score counts disagreement near borders only, and ranking is
deterministic."""
import numpy as np
import torch

from seg.visualize.picking import border_diff_score, near_border_mask, pick_most_different


def reference_near(height, width, band, tile_edges_x=()):
    # Brute force: distance to the image border, or to any extra vertical tile edge given.
    y, x = np.mgrid[:height, :width]
    d = np.minimum.reduce([y, x, height - 1 - y, width - 1 - x])
    for edge in tile_edges_x:  # a tile edge between columns edge-1 and edge
        d = np.minimum(d, np.where(x < edge, edge - 1 - x, x - edge))
    return d < band


def test_near_border_regular_and_tiled():
    assert (
        near_border_mask(40, 80, mode="regular", band=8).numpy() == reference_near(40, 80, 8)
    ).all()
    # 40 x 80 with tile 40, no overlap: tiles at x = 0 and 40, so an inner edge at x = 40.
    assert (near_border_mask(40, 80, mode="tile", tile=40, band=8).numpy()
            == reference_near(40, 80, 8, tile_edges_x=(40,))).all()


def test_score_ignores_disagreement_away_from_borders():
    zero = torch.zeros(40, 80, dtype=torch.int64)
    partial = zero.clone()
    near = near_border_mask(40, 80, band=8)
    partial[18:22, 30:50] = 1  # the centre only
    assert border_diff_score(zero, partial, near) == 0.0
    partial[0:4, 0:10] = 1  # 40 border pixels
    assert border_diff_score(zero, partial, near) == 40 / int(reference_near(40, 80, 8).sum())


def test_picks_are_deterministic_and_ties_go_by_name():
    scores = {"c": 0.5, "a": 0.5, "d": 0.9, "b": 0.1}
    assert pick_most_different(scores, 3) == ["d", "a", "c"]
    shuffled = dict(reversed(list(scores.items())))
    assert pick_most_different(shuffled, 3) == ["d", "a", "c"]
    assert pick_most_different(scores, 10) == ["d", "a", "c", "b"]
