"""Writing files so that a crash never leaves a half-written one behind."""

from __future__ import annotations

import os
import pathlib


def write_atomic(path, write) -> pathlib.Path:
    """Returns `path` after `write(tmp)` filled a temporary file beside it, renamed over `path`.

    The temporary name keeps the suffix of `path`: writers that choose the format by suffix
    (cv2.imwrite, np.savez, savefig) write the same format, and np.savez adds no second ".npz".
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text_atomic(path, text: str) -> pathlib.Path:
    """Returns `path` after writing `text` to it atomically (see write_atomic)."""
    return write_atomic(path, lambda tmp: tmp.write_text(text))
