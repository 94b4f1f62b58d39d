"""The task-agnostic engine on a tiny model and random tensors: schedule, checkpoints, resume,
signals."""
import os
import signal

import pytest
import torch
from torch import nn

from seg.engine import (
    LoopConfig,
    NonFiniteLossError,
    load_checkpoint,
    poly_scheduler,
    read_jsonl,
    save_checkpoint,
    train,
)
from seg.engine.sampler import ResumableSampler


class NoisyShapes(torch.utils.data.Dataset):
    """Images whose label is a thresholded channel, augmented with noise from the global torch
    RNG."""

    def __init__(self, n=24):
        g = torch.Generator().manual_seed(0)
        self.images = torch.randn(n, 3, 8, 8, generator=g)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image = self.images[i] + 0.1 * torch.randn(3, 8, 8)  # drawn from the (reseeded) global RNG
        return {"image": image, "label": (self.images[i, 0] > 0).long()}


def tiny_model():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Dropout2d(0.2),
        nn.Conv2d(8, 2, 1),
    )


def ce_step(model, batch):
    return nn.functional.cross_entropy(model(batch["image"]), batch["label"])


def run(
    tmp_path, iterations, *, total=None, step=ce_step, resume=None, checkpoint_every=3, dataset=None
):
    torch.manual_seed(0)
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = poly_scheduler(optimizer, total or iterations)
    loop = LoopConfig(
        iterations=iterations,
        batch_size=4,
        seed=3,
        log_every=1,
        checkpoint_every=checkpoint_every,
        resume=resume,
    )
    result = train(
        model,
        dataset or NoisyShapes(),
        step,
        optimizer,
        scheduler,
        loop,
        run_dir=tmp_path,
        config={"note": "test"},
        device=torch.device("cpu"),
    )
    return model, result


def losses(run_dir):
    return {
        r["iteration"]: r["train/loss"]
        for r in read_jsonl(run_dir / "log.jsonl")
        if "train/loss" in r
    }


def test_poly_schedule_matches_the_formula(tmp_path):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.03)
    sched = poly_scheduler(opt, 10, power=0.9)
    for it in range(10):
        assert opt.param_groups[0]["lr"] == pytest.approx(0.03 * (1 - it / 10) ** 0.9)
        opt.step()
        sched.step()


def test_sampler_shards_disjoint_and_resumes_mid_epoch():
    a, b = (ResumableSampler(10, batch_size=2, seed=1, rank=r, world_size=2) for r in (0, 1))
    first = [next(iter(a)) for _ in range(1)]

    def take(s, n):
        return [x for _, x in zip(range(n), iter(s))]

    epoch0 = take(a, 4) + take(b, 4)  # 2 batches of 2 per rank
    assert len({i for i, _, _ in epoch0}) == 8 and first[0] == epoch0[0]
    whole = take(ResumableSampler(10, batch_size=2, seed=1), 30)
    resumed = take(ResumableSampler(10, batch_size=2, seed=1, start_batch=7), 16)
    assert resumed == whole[14:30]
    assert [i for i, _, _ in whole[:10]] != [i for i, _, _ in whole[10:20]]  # new order every epoch


def test_atomic_save_keeps_old_file_when_write_fails(tmp_path):
    path = save_checkpoint({"iteration": 1}, tmp_path / "last.pth")
    with pytest.raises(Exception):
        save_checkpoint({"iteration": 2, "bad": lambda: 0}, path)  # lambdas cannot be pickled
    assert load_checkpoint(path)["iteration"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pth"]


def test_resume_equals_uninterrupted_bit_for_bit(tmp_path):
    full, _ = run(tmp_path / "full", 8)
    run(tmp_path / "split", 5, total=8, checkpoint_every=5)  # stops at 5 with last.pth
    resumed, result = run(tmp_path / "split", 8, resume="auto")
    assert result["iteration"] == 8
    assert losses(tmp_path / "split") == losses(tmp_path / "full")
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    state = load_checkpoint(tmp_path / "split" / "last.pth")
    assert state["iteration"] == 8 and state["config"] == {"note": "test"}
    assert set(state) >= {"model", "optimizer", "scheduler", "scaler", "rng", "best_miou"}


def test_loss_falls_when_overfitting_one_batch(tmp_path):
    model, _ = run(
        tmp_path, 30, dataset=torch.utils.data.Subset(NoisyShapes(), range(4)), checkpoint_every=100
    )
    got = losses(tmp_path)
    assert got[30] < 0.5 * got[1]


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    calls = []

    def step(model, batch):
        calls.append(1)
        loss = ce_step(model, batch)
        return loss * float("nan") if len(calls) == 5 else loss

    with pytest.raises(NonFiniteLossError, match="iteration 5"):
        run(tmp_path, 8, step=step, checkpoint_every=2)
    assert load_checkpoint(tmp_path / "last.pth")["iteration"] == 4


def test_sigterm_saves_last_and_returns(tmp_path):
    calls = []

    def step(model, batch):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return ce_step(model, batch)

    before = signal.getsignal(signal.SIGTERM)
    _, result = run(tmp_path, 8, step=step, checkpoint_every=100)
    assert result["status"] == "interrupted" and result["iteration"] == 3
    assert load_checkpoint(tmp_path / "last.pth")["iteration"] == 3
    assert signal.getsignal(signal.SIGTERM) == before


def test_best_checkpoint_follows_the_metric(tmp_path):
    scores = iter([10.0, 30.0, 20.0])
    torch.manual_seed(0)
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loop = LoopConfig(iterations=6, batch_size=4, val_every=2, checkpoint_every=100)
    result = train(
        model,
        NoisyShapes(),
        ce_step,
        optimizer,
        poly_scheduler(optimizer, 6),
        loop,
        run_dir=tmp_path,
        config={},
        device=torch.device("cpu"),
        validate=lambda m: {"mIoU": next(scores)},
    )
    assert result["best"] == 30.0
    best = load_checkpoint(tmp_path / "best.pth")
    assert best["iteration"] == 4 and best["best_miou"] == 30.0
    assert [r["val/mIoU"] for r in read_jsonl(tmp_path / "log.jsonl") if "val/mIoU" in r] == [
        10.0,
        30.0,
        20.0,
    ]


@pytest.mark.parametrize("amp, channels_last", [("bf16", False), ("fp16", True)])
def test_mixed_precision_and_channels_last_train(tmp_path, amp, channels_last):
    torch.manual_seed(0)
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loop = LoopConfig(iterations=3, batch_size=4, amp=amp, channels_last=channels_last, log_every=1)
    result = train(
        model,
        NoisyShapes(),
        ce_step,
        optimizer,
        poly_scheduler(optimizer, 3),
        loop,
        run_dir=tmp_path,
        config={},
        device=torch.device("cpu"),
    )
    state = load_checkpoint(tmp_path / "last.pth")
    assert result["iteration"] == 3 and (state["scaler"] is not None) == (amp == "fp16")
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
