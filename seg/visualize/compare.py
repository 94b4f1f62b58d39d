"""`render.py compare`: predict chosen images with the zero and partial padding models and write the
figures."""
import json
from pathlib import Path

import torch
from tqdm import tqdm

from seg.evaluation.tiling import MODE_OVERLAP, predict
from seg.utils.errors import BadValueError
from seg.visualize.colors import image_to_rgb
from seg.visualize.contact_sheet import contact_sheet
from seg.visualize.layout import save_png
from seg.visualize.panels import comparison_figure
from seg.visualize.picking import (
    border_diff_score,
    near_border_mask,
    pick_most_different,
)
from seg.visualize.selection import PAIR, image_names, select_indices


@torch.no_grad()
def predict_pair(models, item, *, mode, tile, device="cpu"):
    """Return {"zero": trainIds (H, W), "partial": trainIds (H, W)} for one dataset item in
    evaluation `mode`."""
    image = item["image"][None].to(device)
    return {key: predict(models[key], image, mode, tile=tile).argmax(1)[0].cpu() for key in PAIR}


def pick_border_diff(
    models, dataset, indices, *, num, mode, tile, band, device="cpu", progress=True
):
    """Return (picked indices, {name: score}): the `num` images whose predictions differ most near
    borders."""
    names = image_names(dataset)
    scores = {}
    for index in tqdm(indices, desc="pick border-diff", unit="img", disable=not progress):
        item = dataset[index]
        preds = predict_pair(models, item, mode=mode, tile=tile, device=device)
        near = near_border_mask(*item["label"].shape, mode=mode, tile=tile, band=band)
        scores[names[index]] = border_diff_score(preds["zero"], preds["partial"], near)
    picked = pick_most_different(scores, num)
    return [names.index(name) for name in picked], scores


def render_comparisons(
    models,
    dataset,
    out_dir,
    *,
    num=4,
    names=None,
    pick=None,
    pool=None,
    mode="regular",
    tile=1024,
    band=64,
    panel_width=512,
    sheet_width=256,
    device="cpu",
    progress=True,
):
    """Write one comparison PNG per chosen image and contact_sheet.png under out_dir; return the PNG
    paths.

    pick="border-diff" scores the first `pool` images (all by default) and keeps the `num` best;
    the scores go to picks.json so a pick can be checked and repeated.
    """
    if mode not in MODE_OVERLAP:
        raise BadValueError(f"unknown mode {mode!r}; choose from {', '.join(MODE_OVERLAP)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if pick == "border-diff":
        candidates = select_indices(dataset, num=pool, names=names)
        indices, scores = pick_border_diff(
            models,
            dataset,
            candidates,
            num=num,
            mode=mode,
            tile=tile,
            band=band,
            device=device,
            progress=progress,
        )
        (out_dir / "picks.json").write_text(
            json.dumps(
                {
                    "mode": mode,
                    "band": band,
                    "picked": [image_names(dataset)[i] for i in indices],
                    "scores": scores,
                },
                indent=2,
            )
            + "\n"
        )
    elif pick is not None:
        raise BadValueError(f"unknown pick {pick!r}; the only one is border-diff")
    else:
        indices = select_indices(dataset, num=num, names=names)
    written, sheet_items = [], []
    for index in tqdm(indices, desc="render", unit="img", disable=not progress):
        item = dataset[index]
        preds = predict_pair(models, item, mode=mode, tile=tile, device=device)
        rgb = image_to_rgb(item["image"])
        name = Path(item["name"]).name.replace("_leftImg8bit.png", "")
        canvas, _ = comparison_figure(
            rgb,
            item["label"],
            preds["zero"],
            preds["partial"],
            name=name,
            mode=mode,
            tile=tile,
            panel_width=panel_width,
            band=band,
        )
        written.append(save_png(out_dir / f"{name}_{mode}.png", canvas))
        # uint8 maps: a full Cityscapes frame then costs ~12 MB on the sheet instead of ~56 MB.
        sheet_items.append(
            {
                "name": name,
                "image": rgb,
                "label": item["label"].to(torch.uint8),
                "pred_zero": preds["zero"].to(torch.uint8),
                "pred_partial": preds["partial"].to(torch.uint8),
            }
        )
    sheet, _ = contact_sheet(
        sheet_items, mode=mode, tile=tile, overlap=MODE_OVERLAP[mode], panel_width=sheet_width
    )
    written.append(save_png(out_dir / f"contact_sheet_{mode}.png", sheet))
    return written
