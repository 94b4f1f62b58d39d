"""`evaluate`: one inference pass per mode over a dataset, scored for every leave-out proportion and
band.

Also used by the training loop (`evaluate(model, dataset)["mIoU"]["regular"]`): under
torch.distributed each rank takes every world_size-th image and the counts are all-reduced, so
every rank returns the same numbers for the whole dataset.
"""
import time

import torch
from tqdm import tqdm

from seg.evaluation.augment import augmented_logits
from seg.evaluation.border_scores import BorderScores
from seg.evaluation.per_image import from_scores
from seg.evaluation.predictions import PredictionFolder, write_prediction
from seg.evaluation.regions import DISTANCE_EDGES, parse_leave_out
from seg.evaluation.tiling import MODE_OVERLAP, predict
from seg.layers import valid_or_none
from seg.utils.distributed import get_rank, get_world_size
from seg.utils.errors import BadValueError
from seg.utils.labels import CLASS_NAMES, NUM_CLASSES


def _score(dataset, predictors, scores, *, num_images=None, progress=True, dump_dir=None,
           per_image=False):
    """Run every predictor on this rank's share of the dataset, feed `scores`; return seconds per
    mode.

    per_image: also keep each image's counts (the dataset index identifies the image).
    """
    rank, world = get_rank(), get_world_size()
    total = len(dataset) if num_images is None else min(num_images, len(dataset))
    # A strided share (not DistributedSampler, which pads with repeats) counts each image exactly
    # once.
    indices = range(rank, total, world)
    seconds = dict.fromkeys(predictors, 0.0)
    bar = tqdm(
        indices, unit="img", desc="evaluate", disable=not progress or rank != 0, dynamic_ncols=True
    )
    for index in bar:
        item = dataset[index]
        for mode, predictor in predictors.items():
            start = time.perf_counter()
            pred = predictor(item)
            seconds[mode] += time.perf_counter() - start
            scores[mode].update(item["label"], pred, index if per_image else None)
            if dump_dir is not None:
                write_prediction(f"{dump_dir}/{mode}", item["name"], pred)
        bar.set_postfix(
            {f"mIoU {m}": f"{100 * s.miou():.2f}" for m, s in scores.items()}, refresh=False
        )
    for s in scores.values():
        s.reduce_from_all_processes()
    return seconds, total, len(indices)


def _image_names(dataset, total):
    # Names without loading the images again when the dataset lists its samples.
    samples = getattr(dataset, "samples", None)
    if samples is not None and all(hasattr(s, "name") for s in samples[:total]):
        return [str(s.name) for s in samples[:total]]
    return [dataset[i]["name"] for i in range(total)]


def _result(scores, seconds, num_images, local_images, num_classes, **extra):
    names = list(CLASS_NAMES[:num_classes])
    per_mode = {mode: s.result(names) for mode, s in scores.items()}
    result = {"mIoU": {mode: r["mIoU"] for mode, r in per_mode.items()}}
    for key in ("per_class_iou", "leave_out"):
        result[key] = {mode: r[key] for mode, r in per_mode.items()}
    for key in ("distance", "distance_pixels"):
        kinds = {kind for r in per_mode.values() for kind in r[key]}
        result[key] = {
            kind: {m: r[key][kind] for m, r in per_mode.items() if kind in r[key]}
            for kind in sorted(kinds)
        }
    # This rank's throughput: forward pass and argmax, without data loading or scoring.
    result["images_per_second"] = {
        m: (local_images / s if s > 0 else None) for m, s in seconds.items()
    }
    result.update(num_images=num_images, classes=names, **extra)
    return result


def _model_predictor(model, mode, tile, device, scales=(1.0,), flip=False):
    augment = tuple(scales) != (1.0,) or flip

    def logits(images):  # test-time augmentation: one scaled (or mirrored) image at a time
        return [predict(model, image[None], mode, tile=tile)[0] for image in images]

    def predictor(item):
        image = item["image"][None].to(device)
        # Eval images have no holes; a mask of ones would only slow the partial-padding model down.
        valid = valid_or_none(item.get("valid"))
        valid = None if valid is None else valid[None].to(device)
        if not augment:
            return predict(model, image, mode, tile=tile, valid=valid).argmax(1)[0].cpu()
        if valid is not None:  # resizing would blur the holes into the image
            raise ValueError(f"{item.get('name')}: multi-scale/flip needs an image without holes")
        return augmented_logits(logits, [image[0]], scales=scales, flip=flip)[0].argmax(0).cpu()
    return predictor


@torch.no_grad()
def evaluate(
    model,
    dataset,
    *,
    modes=("regular",),
    leave_out=(0,),
    tile=1024,
    device=None,
    progress=True,
    num_images=None,
    dump_dir=None,
    edges=DISTANCE_EDGES,
    num_classes=NUM_CLASSES,
    scales=(1.0,),
    flip=False,
    per_image=False,
):
    """Return the results dict: "mIoU" {mode: percent}, per-class IoU, leave-out and distance
    tables.

    modes: any of "regular", "tile", "tile_overlap"; leave_out: center proportions (0, "1/3", ...);
    device: where images go (default: the device of the model's parameters; the model is not moved);
    dump_dir: also write each mode's predictions as submission PNGs under dump_dir/<mode>/;
    scales, flip: test-time augmentation (seg.evaluation.augment), logits averaged at input size;
    per_image: also return "per_image", a PerImageStats of every image's intersection and union.
    """
    if device is None:
        device = next(model.parameters(), torch.empty(0)).device
    proportions = [parse_leave_out(p) for p in leave_out]
    scores, predictors = {}, {}
    for mode in modes:
        if mode not in MODE_OVERLAP:
            raise BadValueError(
                f"unknown evaluation mode {mode!r}; choose from {', '.join(MODE_OVERLAP)}"
            )
        overlap = MODE_OVERLAP[mode]
        scores[mode] = BorderScores(num_classes, leave_out=proportions, edges=edges,
                                    tile=None if overlap is None else tile, overlap=overlap)
        predictors[mode] = _model_predictor(model, mode, tile, device, scales, flip)
    was_training = model.training
    model.eval()
    try:
        seconds, total, local = _score(
            dataset, predictors, scores, num_images=num_images, progress=progress,
            dump_dir=dump_dir, per_image=per_image,
        )
    finally:
        model.train(was_training)
    result = _result(scores, seconds, total, local, num_classes, tile=tile, scales=list(scales),
                     flip=flip)
    if per_image:
        result["per_image"] = from_scores(scores, _image_names(dataset, total), result["classes"])
    return result


def evaluate_predictions(folder, dataset, *, leave_out=(0,), progress=True, num_images=None,
                         edges=DISTANCE_EDGES, num_classes=NUM_CLASSES, mode="predictions",
                         per_image=False):
    """Return the same results dict for a folder of submission PNGs, scored with no model (one mode,
    `mode`)."""
    proportions = [parse_leave_out(p) for p in leave_out]
    files = PredictionFolder(folder)
    scores = {mode: BorderScores(num_classes, leave_out=proportions, edges=edges)}
    predictors = {mode: lambda item: files.read(item["name"], size=item["label"].shape)}
    seconds, total, local = _score(
        dataset, predictors, scores, num_images=num_images, progress=progress, per_image=per_image
    )
    result = _result(scores, seconds, total, local, num_classes, predictions=str(folder))
    if per_image:
        result["per_image"] = from_scores(scores, _image_names(dataset, total), result["classes"])
    return result
