"""predict_folder: every image or video frame of an input through one or two models, to PNGs.

Frames are gathered into batches of `batch_size` (a padded batch for a partial-padding model);
a frame whose outputs all exist is skipped, and a file that cannot be read (or an image too
small for the model) is reported and skipped while the rest goes on. The summary lists them.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

from tqdm import tqdm

from seg.inference.outputs import PredictionWriter
from seg.inference.predictor import Predictor
from seg.inference.sources import Sources, frame_count, is_video, read_frames
from seg.utils.errors import UserError


@dataclass
class Summary:
    """What a run did: frames written, frames skipped as already written, and failures."""

    written: int = 0
    skipped: int = 0
    failed: List[str] = field(default_factory=list)  # one line per input that was left out
    ignored: List[str] = field(default_factory=list)  # files that are not images or videos


def check_pair(predictors: Dict[str, Predictor]) -> None:
    """Raises UserError unless the two models of a comparison share architecture and classes."""
    zero, partial = predictors["zero"], predictors["partial"]
    if zero.padding == "partial" or partial.padding != "partial":
        raise UserError(f"--checkpoint takes the zero padding model first and the partial one "
                        f"second; got {zero.name} ({zero.padding}) and {partial.name} "
                        f"({partial.padding})")
    if (type(zero.model.backbone), zero.num_classes) != (type(partial.model.backbone),
                                                          partial.num_classes):
        raise UserError(f"{zero.name} and {partial.name} differ in architecture or class count "
                        f"({zero.num_classes} vs {partial.num_classes} classes); compare two "
                        "runs of the same model")


def predict_folder(sources: Sources, predictors: Dict[str, Predictor], writer: PredictionWriter,
                   *, mode: str = "regular", tile: int = 1024, scales: Sequence[float] = (1.0,),
                   flip: bool = False, batch_size: int = 4, progress: bool = True) -> Summary:
    """Returns the Summary of predicting every frame of sources with every predictor."""
    summary = Summary(ignored=[str(path) for path in sources.ignored])
    total = sum(frame_count(path) if is_video(path) else 1 for path, _ in sources.files)
    pending: list = []

    def flush():
        if not pending:
            return
        rgbs, names = [frame.rgb for frame in pending], [frame.name for frame in pending]
        maps = {key: predictor.predict(rgbs, mode=mode, tile=tile, scales=scales, flip=flip,
                                       names=names)
                for key, predictor in predictors.items()}
        for index, frame in enumerate(pending):
            writer.write(frame.name, frame.rgb, {key: maps[key][index] for key in maps})
        summary.written += len(pending)
        pending.clear()

    with tqdm(total=total or None, unit="img", desc="predict", disable=not progress,
              dynamic_ncols=True) as bar:
        for path, name in sources.files:
            for frame in read_frames(path, name):
                bar.update(1)
                if frame.error is not None:
                    summary.failed.append(frame.error)
                    continue
                if writer.done(frame.name):
                    summary.skipped += 1
                    continue
                try:
                    for predictor in predictors.values():
                        predictor.check(frame.rgb.shape[:2], str(path), scales)
                except UserError as error:
                    summary.failed.append(str(error))
                    continue
                pending.append(frame)
                if len(pending) >= batch_size:
                    flush()
        flush()
    return summary
