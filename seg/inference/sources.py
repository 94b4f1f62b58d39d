"""What tools/predict.py reads: a file, a folder, a glob or a video, as named frames.

Every input becomes a stream of Frame(name, rgb, error): `name` is where its outputs go
(relative, without extension: the path below the folder, `<video>/frame_000123` for videos),
`rgb` the (H, W, 3) uint8 pixels, or `error` the one-line reason it could not be read (the
caller reports it and goes on with the rest).
"""
import glob
import os
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Tuple

import cv2
import numpy as np

from seg.inference.images import read_image
from seg.utils.errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


class Frame(NamedTuple):
    name: str
    rgb: Optional[np.ndarray]
    error: Optional[str] = None


class Sources(NamedTuple):
    """The inputs found: (path, output name) pairs, and files skipped for their extension."""

    files: List[Tuple[Path, str]]
    ignored: List[Path]


def find_inputs(spec: str) -> Sources:
    """Returns the inputs named by spec: a file, a folder (searched recursively) or a glob."""
    path = Path(spec)
    if path.is_file():
        return Sources([(path, path.stem)], [])
    if path.is_dir():
        root, candidates = path, sorted(p for p in path.rglob("*") if p.is_file())
    elif glob.has_magic(spec):
        candidates = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        root = Path(os.path.commonpath([str(p.parent) for p in candidates])) if candidates \
            else None
    else:
        raise UserError(f"{spec}: no such file or folder; give an image, a video, a folder or a "
                        "quoted glob such as 'photos/*.jpg'")
    candidates = [p for p in candidates if not p.name.startswith(".")]
    usable = [p for p in candidates if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES]
    if not usable:
        raise UserError(f"{spec}: no images or videos found (looked for "
                        f"{', '.join(sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES))})")
    return Sources(_named(usable, root), [p for p in candidates if p not in usable])


def _named(paths: List[Path], root: Path) -> List[Tuple[Path, str]]:
    """Returns (path, name): the path below root without extension; the extension is kept
    (a.jpg -> a_jpg) where two files would otherwise share a name."""
    stems = [p.relative_to(root).with_suffix("").as_posix() for p in paths]
    return [(p, stem if stems.count(stem) == 1 else f"{stem}_{p.suffix[1:].lower()}")
            for p, stem in zip(paths, stems)]


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def frame_count(path: Path) -> int:
    """Returns how many frames a video says it has (0 if unknown or unreadable)."""
    capture = cv2.VideoCapture(str(path))
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))) if capture.isOpened() else 0
    finally:
        capture.release()


def read_frames(path: Path, name: str) -> Iterator[Frame]:
    """Yields the Frames of an image file (one) or a video (one per frame)."""
    if not is_video(path):
        try:
            yield Frame(name, read_image(path))
        except UserError as error:
            yield Frame(name, None, str(error))
        return
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            yield Frame(name, None, f"{path}: not a video OpenCV can read; convert it (e.g. to "
                                    "MP4) or leave it out")
            return
        index = 0
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            yield Frame(f"{name}/frame_{index:06d}", cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            index += 1
        if index == 0:
            yield Frame(name, None, f"{path}: a video without a readable frame")
    finally:
        capture.release()
