"""Tile placement, batching and averaging of seg.evaluation.tiling, against hand-written
references."""
import pytest
import torch
from torch import nn

from seg.evaluation.tiling import predict, predict_regular, predict_tiled, tile_boxes, tile_starts


class Coordinates(nn.Module):
    """Returns its input unchanged: an image whose channels hold (y, x) is a model of its own
    coordinates."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def forward(self, x):
        self.batches.append(tuple(x.shape))
        return x.clone()


class TileLocal(nn.Module):
    """Returns each crop's own (y, x) grid, so the tiled result depends on where and how tiles were
    cut."""

    def forward(self, x):
        n, _, h, w = x.shape
        ys = torch.arange(h, dtype=x.dtype).view(1, 1, h, 1).expand(n, 1, h, w)
        xs = torch.arange(w, dtype=x.dtype).view(1, 1, 1, w).expand(n, 1, h, w)
        return torch.cat([ys, xs], 1)


def coordinate_image(h, w):
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij"
    )
    return torch.stack([ys, xs])[None]


def test_tile_positions_of_a_cityscapes_image():
    assert tile_starts(2048, 1024, 0) == [0, 1024]
    assert tile_starts(2048, 1024, 1 / 3) == [0, 683, 1024]
    assert tile_starts(1024, 1024, 0) == [0]
    assert tile_starts(1024, 1024, 1 / 3) == [0]
    assert tile_boxes(1024, 2048, 1024, 1 / 3) == [
        (0, 0, 1024, 1024),
        (0, 683, 1024, 1024),
        (0, 1024, 1024, 1024),
    ]


def test_tile_positions_small_cases():
    # stride = ceil(tile * (1 - overlap)); last tile ends at the border.
    assert tile_starts(10, 4, 0) == [0, 4, 6]
    assert tile_starts(10, 3, 1 / 3) == [0, 2, 4, 6, 7]
    assert tile_starts(7, 10, 0) == [0]  # a tile larger than the image shrinks to it
    with pytest.raises(ValueError, match="overlap"):
        tile_starts(10, 4, 1.0)


@pytest.mark.parametrize("overlap", [0.0, 1 / 3])
def test_coordinate_model_rebuilds_full_map_exactly(overlap):
    image = coordinate_image(1024, 2048)
    model = Coordinates()
    out = predict_tiled(model, image, tile=1024, overlap=overlap)
    assert torch.equal(out, image)
    # One forward pass: the image's tiles as a single batch.
    assert model.batches == [(2 if overlap == 0 else 3, 2, 1024, 1024)]


# Overlap 1/3: stride ceil(6 * 2/3) = 4; overlap 0: stride 6. The last tile is shifted in to end at
# the border.
@pytest.mark.parametrize(
    "overlap, ys_starts, xs_starts",
    [(1 / 3, [0, 4, 5], [0, 4, 8, 12, 16, 17]), (0.0, [0, 5], [0, 6, 12, 17])],
)
def test_tiled_average_matches_slow_reference(overlap, ys_starts, xs_starts):
    h, w, tile = 11, 23, 6
    image = torch.zeros(2, 3, h, w)
    out = predict_tiled(TileLocal(), image, tile=tile, overlap=overlap)
    # Slow reference: per pixel, average its tile-local coordinates over the tiles that cover it.
    ref = torch.zeros(2, h, w)
    for y in range(h):
        for x in range(w):
            cover = [
                (y - t, x - l)
                for t in ys_starts
                for l in xs_starts
                if t <= y < t + tile and l <= x < l + tile
            ]
            ref[0, y, x] = sum(c[0] for c in cover) / len(cover)
            ref[1, y, x] = sum(c[1] for c in cover) / len(cover)
    assert out.shape == (2, 2, h, w)
    for n in range(2):
        torch.testing.assert_close(out[n], ref, rtol=0, atol=1e-6)


def test_tile_larger_than_image_shrinks_to_it():
    image = torch.randn(1, 3, 40, 70)
    model = nn.Conv2d(3, 5, 3, padding=1)
    torch.testing.assert_close(
        predict(model, image, "tile_overlap", tile=1024), predict_regular(model, image)
    )
    # A tile of 64 on a 40x70 image: 40x64 tiles at x = 0 and 6.
    assert tile_boxes(40, 70, 64, 0) == [(0, 0, 40, 64), (0, 6, 40, 64)]


def test_valid_mask_is_cropped_with_the_tiles():
    seen = []

    class MaskModel(nn.Module):
        def forward(self, x, valid=None):
            seen.append(valid)
            return x * valid

    image = torch.rand(1, 2, 8, 16)
    valid = (torch.rand(1, 1, 8, 16) > 0.3).float()
    out = predict_tiled(MaskModel(), image, tile=8, overlap=0, valid=valid)
    assert seen[0].shape == (2, 1, 8, 8)
    torch.testing.assert_close(out, image * valid)


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="tiles"):
        predict(nn.Identity(), torch.zeros(1, 3, 4, 4), "tiles")
