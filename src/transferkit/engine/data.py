"""Data loaders for fine-tuning: raw inputs (image paths or texts) become backbone batches per step."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from transferkit.backbones.base import Backbone, Batch


class RawExamples(Dataset):
    """(raw input, target) pairs: the target is whatever the task encoded (class index, 0/1 row, value)."""

    def __init__(self, inputs: list[str], targets: torch.Tensor) -> None:
        self.inputs = list(inputs)
        self.targets = targets

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> tuple[str, torch.Tensor]:
        return self.inputs[index], self.targets[index]  # a class index, a 0/1 row (multi-label) or a value


class BackboneCollate:
    """Turns a list of (raw input, target) into (backbone batch, targets) with the backbone's own preprocessing."""

    def __init__(self, backbone: Backbone) -> None:
        self.backbone = backbone

    def __call__(self, items: list[tuple[str, int]]) -> tuple[Batch, torch.Tensor]:
        inputs = [item for item, _ in items]
        return self.backbone.load_batch(inputs), torch.stack([torch.as_tensor(target) for _, target in items])


class EpochShuffleSampler(Sampler[int]):
    """A permutation drawn from (seed, epoch) alone: Lightning calls `set_epoch`, so a resumed run visits
    the examples in the same order as an uninterrupted one."""

    def __init__(self, size: int, *, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 7919 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self) -> int:
        return self.size


def raw_loader(
    backbone: Backbone,
    inputs: list[str],
    targets: torch.Tensor,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    devices: int = 1,
    augmented: tuple[Dataset, Callable] | None = None,
    sampler: Sampler[int] | None = None,
) -> DataLoader:
    """A loader of backbone batches. `batch_size` is the global batch: each of `devices` processes takes its share.

    Under several devices Lightning swaps in a DistributedSampler (seeded, epoch-aware) for `shuffle=True`.
    `augmented` (from augmentation.pipeline.training_dataset_and_collate) replaces the dataset and collate with
    ones that add augmented copies, drawn fresh when each batch is built. `sampler` (e.g. the balanced-batch
    sampler of transferkit.imbalance.sampling) replaces the shuffling order on one device.

    Example::

        targets = torch.tensor([1, 0])
        loader = raw_loader(backbone, ["ok", "bad"], targets, batch_size=2, shuffle=True, seed=0)
    """
    dataset: Dataset = RawExamples(inputs, targets)
    per_device = max(1, batch_size // max(1, devices))
    collate: Callable = BackboneCollate(backbone)
    if augmented is not None:
        dataset, collate = augmented
    # Its own generator: creating an iterator must not draw from the global one (dropout's), or resume drifts.
    generator = torch.Generator().manual_seed(seed)
    if sampler is None and shuffle and devices == 1:
        sampler = EpochShuffleSampler(len(dataset), seed=seed)
    if sampler is not None:
        if hasattr(collate, "follow_epochs"):  # augmented copies seeded by (seed, epoch, row): resume gives the same
            collate.follow_epochs(sampler)
        return DataLoader(dataset, batch_size=per_device, sampler=sampler, generator=generator, collate_fn=collate)
    return DataLoader(dataset, batch_size=per_device, shuffle=shuffle, generator=generator, collate_fn=collate)
