"""Training cost of partial padding: step time and peak memory, zero vs partial, mask on vs off.

Step time: one model, switched in place between the variants, each repetition timing one SGD
step (forward, cross-entropy, backward, optimiser step) of every variant, interleaved:

  zero          zero padding
  partial       seg.layers partial padding, mask propagation off (model(images))
  partial+mask  mask propagation on: model(images, valid), each image real in its top-left
                7/8 x 7/8 (a padded batch), labels 255 in the holes for every variant
  zero (A/A)    zero padding again, the noise floor

Peak memory on a CPU: one fresh process per variant (python -m seg.benchmark.training) builds
the same model and batch, reads its resident set size (VmRSS), runs `steps` training steps and
reads the kernel's high-water mark of the resident set (VmHWM). A fresh process per variant
because the high-water mark cannot be reset and glibc keeps freed memory; as many processes per
variant as asked (tools/benchmark.py --memory-runs), interleaved, and the median, because one
process's peak moves by a few percent from run to run. Both the whole peak
(interpreter, torch, parameters, optimiser state included) and the peak above the set-up RSS
(activations, gradients, momentum, workspace) are reported. On a GPU: torch.cuda's
max_memory_allocated after reset_peak_memory_stats, per variant, in this process.
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from seg.benchmark.inference import build_benchmark_model, corner_valid
from seg.benchmark.mask_conv import use_padding
from seg.utils.labels import IGNORE_INDEX, NUM_CLASSES
from seg.utils.timing import interleaved_times, relative

TRAINING_VARIANTS = ("zero", "partial", "partial+mask", "zero (A/A)")
_MODES = {"zero": "zeros", "partial": "partial", "partial+mask": "partial", "zero (A/A)": "zeros"}


def make_batch(batch, height, width, num_classes=NUM_CLASSES, device="cpu"):
    """Returns (images, labels, valid): random, seeded; labels 255 outside the real region."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch, 3, height, width, generator=generator)
    labels = torch.randint(0, num_classes, (batch, height, width), generator=generator)
    valid = corner_valid(batch, height, width, height * 7 // 8, width * 7 // 8)
    labels[valid[:, 0] == 0] = IGNORE_INDEX
    return images.to(device), labels.to(device), valid.to(device)


def training_step(model, optimizer, images, labels, valid=None):
    """Runs one SGD step: forward (with valid: mask propagation), loss, backward, step."""
    logits = model(images) if valid is None else model(images, valid)
    loss = F.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _step_variant(model, optimizer, batch, name):
    images, labels, valid = batch

    def setup():
        use_padding(model, _MODES[name])

    def run():
        training_step(model, optimizer, images, labels, valid if name == "partial+mask" else None)
    return setup, run


def benchmark_training(name: str, batch: int, height: int, width: int, *, repeats: int,
                       warmup: int, clock: str, device: torch.device, memory_steps: int = 2,
                       threads: int = 1, memory_runs: int = 0) -> dict:
    """Returns {"case", "ms", "relative", "memory"} for the training variants (module docstring).

    On a CPU the peak memory is the median of memory_runs fresh processes (0: repeats).
    """
    model = build_benchmark_model(name).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    data = make_batch(batch, height, width, device=device)
    variants = {v: _step_variant(model, optimizer, data, v) for v in TRAINING_VARIANTS}
    times = interleaved_times(variants, repeats=repeats, warmup=warmup, clocks=(clock,),
                              device=device)[clock]
    case = {"model": name, "batch": batch, "height": height, "width": width}
    result = {"case": case, "ms": {v: 1e3 * sorted(t)[len(t) // 2] for v, t in times.items()},
              "relative": {v: list(relative(times, v, "zero")) for v in times}, "raw_s": times}
    if torch.device(device).type == "cuda":
        result["memory"] = {v: _cuda_peak(model, optimizer, data, v, device)
                            for v in TRAINING_VARIANTS[:3]}
    else:
        result["memory"] = _cpu_peaks(case, memory_steps, threads, runs=memory_runs or repeats)
    return result


def _cpu_peaks(case, steps, threads, runs) -> dict:
    """Returns {variant: median peak of `runs` fresh processes per variant, run interleaved}.

    One process's high-water mark moves by a few percent from run to run (glibc's and oneDNN's
    allocations are not the same every time), as much as the difference being measured: hence
    the median.
    """
    peaks = {v: [] for v in TRAINING_VARIANTS[:3]}
    for _ in range(runs):
        for variant, measured in peaks.items():
            measured.append(_cpu_peak_subprocess(variant, case, steps, threads))
    result = {}
    for variant, measured in peaks.items():
        middle = {key: statistics.median(m[key] for m in measured)
                  for key in ("peak_mib", "above_setup_mib")}
        result[variant] = {**middle, "runs": measured,
                           "how": f"median of {runs} fresh processes' VmHWM after {steps} steps"}
    return result


def _cuda_peak(model, optimizer, data, variant, device) -> dict:
    setup, run = _step_variant(model, optimizer, data, variant)
    setup()
    torch.cuda.synchronize(device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    run()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device)
    return {"peak_mib": peak / 2**20, "above_setup_mib": (peak - base) / 2**20,
            "how": "torch.cuda.max_memory_allocated"}


def _cpu_peak_subprocess(variant, case, steps, threads) -> dict:
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "seg.benchmark.training", "--variant", variant,
               "--model", case["model"], "--batch", str(case["batch"]),
               "--size", str(case["height"]), str(case["width"]), "--steps", str(steps),
               "--threads", str(threads)]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory subprocess for {variant!r} failed ({' '.join(command)}):\n"
                           f"{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}: peak memory needs Linux")


def cpu_peak_in_this_process(variant, name, batch, height, width, steps) -> dict:
    """Returns {"peak_mib", "above_setup_mib", "how"} of `steps` training steps of variant,
    measured in this (fresh) process: VmHWM at the end, VmRSS right before the first step."""
    model = build_benchmark_model(name).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    setup, run = _step_variant(model, optimizer, make_batch(batch, height, width), variant)
    setup()
    base = _status_kib("VmRSS")
    for _ in range(steps):
        run()
    peak = _status_kib("VmHWM")
    return {"peak_mib": peak / 1024, "above_setup_mib": (peak - base) / 1024,
            "how": f"VmHWM of a fresh process after {steps} steps"}


def _main():
    parser = argparse.ArgumentParser(description="peak memory of one training variant (CPU)")
    parser.add_argument("--variant", choices=TRAINING_VARIANTS, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--size", type=int, nargs=2, required=True)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps(cpu_peak_in_this_process(args.variant, args.model, args.batch, *args.size,
                                              args.steps)))


if __name__ == "__main__":
    _main()
