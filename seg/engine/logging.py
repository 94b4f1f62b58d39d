"""Scalar logs of a run: TensorBoard event files and a JSONL file with the same numbers, rank 0 only."""
from __future__ import annotations

import json
import pathlib
import time


class ScalarLogger:
    """Writes {tag: value} scalars at an iteration to <run_dir>/events.* and <run_dir>/log.jsonl.

    Disabled (every call a no-op) when `enabled` is False, i.e. on ranks other than 0.
    """

    def __init__(self, run_dir, *, enabled: bool = True):
        self.enabled = enabled
        self.writer = None
        self.jsonl = None
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter  # imported late: it loads TensorBoard

        run_dir = pathlib.Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(log_dir=str(run_dir))
        # Appending keeps the history of a resumed run in one file.
        self.jsonl = open(run_dir / "log.jsonl", "a", buffering=1)

    def log(self, iteration: int, scalars: dict) -> None:
        """Records each scalar under its tag (e.g. "train/loss") at `iteration`."""
        if not self.enabled:
            return
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, iteration)
        record = {"iteration": iteration, "time": round(time.time(), 3)}
        record.update({tag: float(value) for tag, value in scalars.items()})
        self.jsonl.write(json.dumps(record) + "\n")

    def close(self) -> None:
        """Flushes and closes both files."""
        if self.writer is not None:
            self.writer.close()
            self.jsonl.close()
            self.writer = self.jsonl = None


def read_jsonl(path) -> list[dict]:
    """Returns the records of a log.jsonl file, in order."""
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line.strip()]
