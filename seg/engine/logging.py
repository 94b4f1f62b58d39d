"""Scalar logs of a run: a JSONL file and, with TensorBoard installed, event files; rank 0 only."""
from __future__ import annotations

import importlib.util
import json
import pathlib
import time


class ScalarLogger:
    """Writes {tag: value} scalars at an iteration to <run_dir>/log.jsonl and <run_dir>/events.*.

    The event files need TensorBoard (the `plots` extra); without it the JSONL log alone holds the
    same numbers. Disabled (every call a no-op) when `enabled` is False, i.e. on ranks other than 0.
    """

    def __init__(self, run_dir, *, enabled: bool = True):
        self.enabled = enabled
        self.writer = None
        self.jsonl = None
        if not enabled:
            return
        run_dir = pathlib.Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        if importlib.util.find_spec("tensorboard") is not None:
            # imported here, not at the top: loading TensorBoard takes a while and rank > 0 never
            # needs it
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(run_dir))
        # Appending keeps the history of a resumed run in one file.
        self.jsonl = open(run_dir / "log.jsonl", "a", buffering=1)

    def log(self, iteration: int, scalars: dict) -> None:
        """Records each scalar under its tag (e.g. "train/loss") at `iteration`."""
        if not self.enabled:
            return
        if self.writer is not None:
            for tag, value in scalars.items():
                self.writer.add_scalar(tag, value, iteration)
        record = {"iteration": iteration, "time": round(time.time(), 3)}
        record.update({tag: float(value) for tag, value in scalars.items()})
        self.jsonl.write(json.dumps(record) + "\n")

    def close(self) -> None:
        """Flushes and closes both files."""
        if self.writer is not None:
            self.writer.close()
        if self.jsonl is not None:
            self.jsonl.close()
        self.writer = self.jsonl = None


class ThroughputMeter:
    """Mean loss and images per second over the iterations since the last reset()."""

    def __init__(self, images_per_step: int):
        self.images_per_step = images_per_step  # batch size times the number of processes
        self.reset()

    def reset(self) -> None:
        self.loss, self.steps, self.seconds = 0.0, 0, 0.0

    def update(self, loss: float, seconds: float) -> None:
        """Adds one iteration's loss and its time from loading the batch to the optimiser step."""
        self.loss += loss
        self.steps += 1
        self.seconds += seconds

    def mean_loss(self) -> float:
        return self.loss / self.steps

    def images_per_s(self) -> float:
        return self.steps * self.images_per_step / max(self.seconds, 1e-9)


def read_jsonl(path) -> list[dict]:
    """Returns the records of a log.jsonl file, in order."""
    return [
        json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line.strip()
    ]
