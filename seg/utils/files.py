"""Writing text files so that a crash never leaves a half-written one behind."""

from __future__ import annotations

import os
import pathlib


def write_text_atomic(path, text: str) -> pathlib.Path:
    """Returns `path` after writing `text` to a temporary file beside it, renamed over `path`."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
