"""Shared pytest fixtures."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def one_thread():
    """Runs a test with one torch thread: on tiny tensors extra threads only wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """Returns (output folder, stdout, data folder) of `tools/demo.py --fast`, run once per test
    session (the demo's tests and the ablation that reuses its runs share it)."""
    out, data = tmp_path_factory.mktemp("demo"), tmp_path_factory.mktemp("data") / "synthetic"
    # One thread per step: two OpenMP threads on two cores shared with other jobs can spin-wait
    # several times longer.
    done = subprocess.run(
        [sys.executable, "tools/demo.py", "--fast", "--out", str(out), "--data", str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,  # four trainings and evaluations: minutes when the cores are shared
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout, data
