"""Comparison figure and contact sheet: panel positions in pixels, panel contents, tile grid and
border zoom."""
import numpy as np
import pytest
from cityscapesscripts.helpers.labels import trainId2label

from seg.visualize.contact_sheet import contact_sheet, legend_entries
from seg.visualize.panels import border_zoom_box, comparison_figure

H, W, PANEL = 32, 64, 128  # panels are exactly 2x the image


def colours(train_ids):
    """Reference colouring straight from cityscapesscripts (255 -> black)."""
    lut = {t: trainId2label[t].color for t in range(19)}
    return np.array(
        [[lut.get(int(t), (0, 0, 0)) for t in row] for row in train_ids], dtype=np.uint8
    )


def upscale(rgb, factor):
    return rgb.repeat(factor, 0).repeat(factor, 1)


@pytest.fixture
def scene():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    label = np.zeros((H, W), np.int64)
    label[:12], label[12:20], label[:, :6] = 10, 2, 8
    label[28:, 40:] = 255
    zero, partial = label.copy(), label.copy()
    zero[zero == 255] = 0
    partial[partial == 255] = 0
    zero[16:24, 56:] = 13  # the models disagree only here, at the right border
    return image, label, zero, partial


def crop(canvas, box):
    return canvas[box.y:box.y + box.h, box.x:box.x + box.w]


def test_layout_is_three_rows_of_four_panels_at_known_pixels(scene):
    canvas, boxes = comparison_figure(*scene, name="x", panel_width=PANEL)
    # gap 8 px, title bars 28 px, header 36 px; every panel 128 x 64.
    assert canvas.shape == (36 + 3 * (28 + 64 + 8), 8 + 4 * (PANEL + 8), 3)
    rows = [("Image", "Ground truth", "zero padding", "partial padding"),
            ("Scores", "Errors: zero vs partial", "zero padding errors", "partial padding errors"),
            ("Zoom: Image", "Zoom: Ground truth", "Zoom: zero padding", "Zoom: partial padding")]
    assert set(boxes) == {t for row in rows for t in row}
    for r, row in enumerate(rows):
        for c, title in enumerate(row):
            box = boxes[title]
            assert (box.x, box.y, box.w, box.h) == (
                8 + c * (PANEL + 8),
                36 + 28 + r * (28 + 64 + 8),
                PANEL,
                64,
            ), title


def test_panels_show_label_and_predictions_in_cityscapes_colours(scene):
    image, label, zero, partial = scene
    canvas, boxes = comparison_figure(image, label, zero, partial, panel_width=PANEL)
    assert (crop(canvas, boxes["Ground truth"]) == upscale(colours(label), 2)).all()
    assert (crop(canvas, boxes["zero padding"]) == upscale(colours(zero), 2)).all()
    assert (crop(canvas, boxes["partial padding"]) == upscale(colours(partial), 2)).all()
    wrong = upscale(((zero != label) & (label != 255)).astype(np.uint8), 2).astype(bool)
    errors = crop(canvas, boxes["zero padding errors"])
    assert ((errors == (255, 0, 0)).all(-1) == wrong).all()


def test_tile_grid_is_drawn_only_in_tiled_modes(scene):
    regular, boxes = comparison_figure(*scene, mode="regular", panel_width=PANEL)
    tiled, _ = comparison_figure(*scene, mode="tile", tile=32, panel_width=PANEL)
    # Tiles (0..32) and (32..64) meet at image x = 32, i.e. panel x = 64 at scale 2.
    for title in ("Ground truth", "zero padding", "partial padding"):
        inner = lambda canvas: crop(canvas, boxes[title])[4:-4]  # noqa: E731 (skip the outline's top/bottom)
        assert (inner(tiled)[:, 63:65] == 255).all(), title
        assert not (inner(regular) == 255).all(-1).all(0).any(), title


def test_zoom_shows_the_border_crop_where_models_disagree(scene):
    image, label, zero, partial = scene
    assert border_zoom_box(zero, partial, (8, 16)) == ("right", 16, 48)
    # no disagreement: first border, first place
    assert border_zoom_box(zero, zero, (8, 16)) == ("left", 0, 0)
    canvas, boxes = comparison_figure(image, label, zero, partial, panel_width=PANEL, zoom=4)
    # The 8 x 16 crop at rows 16-24, columns 48-64, magnified 8x to fill a 128 x 64 panel.
    assert (
        crop(canvas, boxes["Zoom: zero padding"]) == upscale(colours(zero[16:24, 48:]), 8)
    ).all()
    assert (
        crop(canvas, boxes["Zoom: Ground truth"]) == upscale(colours(label[16:24, 48:]), 8)
    ).all()


def test_contact_sheet_rows_and_legend(scene):
    image, label, zero, partial = scene
    items = [
        {
            "name": f"img{i}",
            "image": image,
            "label": label,
            "pred_zero": zero,
            "pred_partial": partial,
        }
        for i in range(3)
    ]
    canvas, boxes = contact_sheet(items, panel_width=PANEL, gap=6)
    assert canvas.shape[1] == 6 + 4 * (PANEL + 6)
    assert {row for row, _ in boxes if row != "legend"} == {0, 1, 2}
    for row in range(3):
        gt = boxes[(row, "Ground truth")]
        assert (gt.x, gt.w, gt.h) == (6 + PANEL + 6, PANEL, 64)
        assert (crop(canvas, gt) == upscale(colours(label), 2)).all()
        assert boxes[(row, "partial padding")].y == gt.y
    assert boxes[(1, "Image")].y > boxes[(0, "Image")].y + 64  # rows do not overlap
    legend = crop(canvas, boxes[("legend", "")])
    assert boxes[("legend", "")].y >= boxes[(2, "Image")].y + 64
    # Every class colour appears as a swatch in the legend.
    present = {tuple(c) for c in legend.reshape(-1, 3)}
    assert len(legend_entries()) == 20
    assert all(trainId2label[t].color in present for t in range(19))
