"""Data order that can resume mid-epoch exactly: a seeded, sharded, endless sampler.

Each epoch is a permutation drawn from (seed, epoch); rank r takes every world_size-th sample of
it, so ranks never share samples. Every sample also carries its epoch and its own seed drawn with
the permutation, and SeededSamples hands both to the dataset before loading: the augmentation of a
sample depends on (seed, epoch, position) only, not on which loader worker produced it or on
whether the run was restarted in between. Resuming at iteration k is starting the stream at batch k.
"""
from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from seg.utils.errors import BadValueError


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """Returns a torch.Generator seeded from (seed, epoch) through numpy's SeedSequence (no
    collisions of seed+epoch)."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(2, dtype=np.uint32)
    g = torch.Generator()
    g.manual_seed(int(state[0]) << 32 | int(state[1]))
    return g


class ResumableSampler(Sampler):
    """Yields (index, epoch, sample_seed) for this rank forever, starting at batch `start_batch`.

    Every epoch holds batches_per_epoch full batches per rank; the samples left over by the
    division are dropped for that epoch (a different set in every epoch).
    """

    def __init__(self, dataset_len: int, *, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1, start_batch: int = 0, shuffle: bool = True):
        self.batches_per_epoch = dataset_len // (batch_size * world_size)
        if self.batches_per_epoch == 0:
            raise BadValueError(
                f"{dataset_len} training samples cannot fill one batch of {batch_size} "
                f"on each of {world_size} processes — lower train.batch_size or add data"
            )
        self.dataset_len, self.batch_size, self.seed = dataset_len, batch_size, seed
        self.rank, self.world_size, self.start_batch, self.shuffle = (
            rank,
            world_size,
            start_batch,
            shuffle,
        )

    def epoch_samples(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (indices, sample seeds) of this rank for one epoch, batches_per_epoch *
        batch_size each."""
        g = epoch_generator(self.seed, epoch)
        order = (
            torch.randperm(self.dataset_len, generator=g)
            if self.shuffle
            else torch.arange(self.dataset_len)
        )
        seeds = torch.randint(0, 2**31 - 1, (self.dataset_len,), generator=g)
        used = self.batches_per_epoch * self.batch_size * self.world_size
        return order[:used][self.rank::self.world_size], seeds[:used][self.rank::self.world_size]

    def __iter__(self):
        epoch, batch = divmod(self.start_batch, self.batches_per_epoch)
        skip = batch * self.batch_size
        while True:
            indices, seeds = self.epoch_samples(epoch)
            for index, seed in zip(indices[skip:].tolist(), seeds[skip:].tolist()):
                yield index, epoch, seed
            epoch, skip = epoch + 1, 0


class SeededSamples(Dataset):
    """Wraps a dataset so that item (index, epoch, sample_seed) is loaded reproducibly.

    A dataset with `set_epoch(epoch)` (seg.data's training set: its items depend on (seed, epoch,
    index)) is told the epoch in the process that loads the item; the python, numpy and torch
    global generators are reseeded from sample_seed for datasets that draw from them. The caller's
    global generator states are restored afterwards, so loading in the main process
    (num_workers=0) does not disturb the model's RNG stream.
    """

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item):
        index, epoch, sample_seed = item
        saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
        try:
            random.seed(sample_seed)
            np.random.seed(sample_seed)
            torch.manual_seed(sample_seed)
            set_epoch = getattr(self.dataset, "set_epoch", None)
            if set_epoch is not None:
                set_epoch(epoch)
            return self.dataset[index]
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
            torch.set_rng_state(saved[2])
