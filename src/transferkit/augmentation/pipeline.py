"""Augmentation of the training split: fresh augmented views through the backbone, for probes and fine-tuning.

`--augment light|strong` picks a policy; each modality makes the views (`Modality.augmenter`: image_augment,
text_augment and audio_augment in transferkit/modalities);
`--augment-copies K` adds K augmented views of each training example; `--augment-below N` adds them only for
classes with fewer than N training examples, so rare classes are oversampled with new views rather than
repeated rows. Validation and test rows are never augmented: only the training split reaches this module.

- Probe: each view is embedded by the frozen backbone and cached under a key made of the input's content
  hash, the policy, the view index and the seed, so a rerun with the same seed reads the cache and a new
  seed draws new views.
- Fine-tuning: the training loader holds the originals plus K copies of the chosen rows; each copy is
  augmented on the fly when its batch is built, seeded by (run seed, epoch, copy), so every epoch sees new
  views, and a rerun or a resumed run sees the same ones.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from transferkit.backbones.base import Backbone, Batch
from transferkit.embedding_cache import ExtractionStats, FeatureCache, default_cache_dir, embed_missing, input_hash
from transferkit.errors import ConfigError
from transferkit.modalities import get_modality

POLICIES = ("none", "light", "strong")


def augmentation_plan(labels: list[str], *, below: int | None, copies: int) -> list[tuple[int, int]]:
    """(row, view) pairs to augment: `copies` views of each row whose class has fewer than `below` rows
    (every row when `below` is None).

    Example:
        >>> augmentation_plan(["a", "a", "a", "b"], below=2, copies=2)
        [(3, 0), (3, 1)]
    """
    counts = Counter(labels)
    return [
        (row, view)
        for row, label in enumerate(labels)
        if below is None or counts[label] < below
        for view in range(copies)
    ]


def view_seed(content_hash: str, *, view: int, seed: int) -> int:
    """A 32-bit seed for one view of one input, from its content hash, the view index and the run seed."""
    return int(np.random.SeedSequence([seed, view, int(content_hash[:15], 16)]).generate_state(1)[0])


@dataclass(frozen=True)
class AugmentSettings:
    """What `augment` options a run uses (the `augment` config section)."""

    policy: str = "none"
    text: str = "eda"
    synonyms: str = "embedding"
    mlm: str | None = None

    @property
    def identity(self) -> str:
        """Part of each view's cache key: a change of policy or text method never reads old views."""
        return f"{self.policy}|{self.text}|{self.synonyms}|{self.mlm or ''}"


class Augmenter:
    """Raw inputs (image paths, texts or audio paths) -> backbone batches, augmenting the rows given a seed."""

    def __init__(self, backbone: Backbone, *, settings: AugmentSettings) -> None:
        if settings.policy not in POLICIES[1:]:
            raise ConfigError(f"The 'augment.policy' option must be light or strong here. Got {settings.policy!r}.")
        self.backbone = backbone
        self.settings = settings
        self.modality = backbone.modality
        make_views = get_modality(self.modality).augmenter
        if make_views is None:
            raise ConfigError(f"--augment does not apply to {self.modality} data; use --augment none.")
        self.views = make_views(backbone, settings)  # raises when this backbone cannot be augmented

    def batch(self, inputs: list[str], *, seeds: list[int | None]) -> Batch:
        """One backbone batch of `inputs`; a row with a seed is augmented with it, a row with None stays clean."""
        return self.views.batch(inputs, seeds=seeds)


def view_key(content_hash: str, *, identity: str, view: int, seed: int) -> str:
    return hashlib.sha256(f"{content_hash}|aug:{identity}|view:{view}|seed:{seed}".encode()).hexdigest()


def extract_augmented_features(
    augmenter: Augmenter,
    inputs: list[str],
    views: list[int],
    *,
    seed: int,
    cache_dir: str | None = None,
    batch_size: int = 32,
) -> tuple[np.ndarray, ExtractionStats]:
    """Embed view `views[i]` of `inputs[i]` through the frozen backbone, reusing cached views."""
    backbone = augmenter.backbone
    hashes = [input_hash(backbone.modality, item) for item in inputs]
    keys = [
        view_key(h, identity=augmenter.settings.identity, view=view, seed=seed)
        for h, view in zip(hashes, views, strict=True)
    ]
    cache = FeatureCache(cache_dir or default_cache_dir(), backbone.cache_key())
    found = cache.get_many(set(keys))
    missing = list({key: index for index, key in enumerate(keys) if key not in found}.items())
    stats = ExtractionStats(hits=sum(key in found for key in keys), misses=sum(key not in found for key in keys))

    def make_batch(rows: list[int]) -> Batch:
        seeds = [view_seed(hashes[i], view=views[i], seed=seed) for i in rows]
        return augmenter.batch([inputs[i] for i in rows], seeds=seeds)

    description = "Embedding augmented views"
    features = embed_missing(
        backbone, keys, found, missing, make_batch, cache=cache, description=description, batch_size=batch_size
    )
    return features, stats


def settings_from_spec(spec) -> AugmentSettings:
    section = spec.augment
    return AugmentSettings(policy=section.policy, text=section.text, synonyms=section.synonyms, mlm=section.mlm)


def augmented_training_views(
    backbone: Backbone, *, inputs: list[str], labels: list[str], spec
) -> tuple[np.ndarray, list[str], dict]:
    """Features and labels of the augmented views of a training split, as `spec.augment` asks (probe stage).

    Returns empty arrays when the policy is none or no class is under `augment.below`.
    """
    section = spec.augment
    plan = augmentation_plan(labels, below=section.below, copies=section.copies)
    details = {"policy": section.policy, "copies": section.copies, "below": section.below, "views": len(plan)}
    if section.policy == "none" or not plan:
        return np.zeros((0, backbone.num_features), np.float32), [], details | {"views": 0}
    augmenter = Augmenter(backbone, settings=settings_from_spec(spec))
    features, stats = extract_augmented_features(
        augmenter,
        [inputs[row] for row, _ in plan],
        [view for _, view in plan],
        seed=spec.run.seed,
        cache_dir=spec.backbone.cache_dir,
        batch_size=spec.backbone.batch_size,
    )
    view_labels = [labels[row] for row, _ in plan]
    details |= {"classes": dict(sorted(Counter(view_labels).items())), "hits": stats.hits, "misses": stats.misses}
    return features, view_labels, details


class AugmentedExamples(Dataset):
    """(raw input, class index, copy number or None) rows: the originals, then one row per (row, view) of the plan."""

    def __init__(self, inputs: list[str], targets: torch.Tensor, plan: list[tuple[int, int]]) -> None:
        self.inputs = list(inputs)
        self.targets = targets
        self.rows = [(row, False) for row in range(len(inputs))] + [(row, True) for row, _ in plan]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[str, int, int | None]:
        row, augmented = self.rows[index]
        return self.inputs[row], int(self.targets[row]), index if augmented else None


class AugmentingCollate:
    """Builds a training batch, augmenting the copies.

    Each copy's seed comes from (run seed, epoch, its position in the dataset) when the loader's sampler
    tells the epoch (one device: a resumed run draws the same views as an uninterrupted one); otherwise
    (DistributedSampler under several devices) from torch's run-seeded generator.
    """

    def __init__(self, augmenter: Augmenter, *, seed: int = 0) -> None:
        self.augmenter = augmenter
        self.seed = seed
        self.sampler = None

    def follow_epochs(self, sampler) -> None:
        self.sampler = sampler

    def _seed(self, position: int) -> int:
        epoch = getattr(self.sampler, "epoch", None)
        if epoch is None:
            return int(torch.randint(0, 2**31 - 1, ()))
        return int(np.random.SeedSequence([self.seed, int(epoch), position]).generate_state(1)[0])

    def __call__(self, items: list[tuple[str, int, int | None]]) -> tuple[Batch, torch.Tensor]:
        seeds = [None if position is None else self._seed(position) for _, _, position in items]
        batch = self.augmenter.batch([item for item, _, _ in items], seeds=seeds)
        return batch, torch.tensor([target for _, target, _ in items], dtype=torch.long)


def training_dataset_and_collate(
    backbone: Backbone, inputs: list[str], targets: torch.Tensor, labels: list[str], spec
) -> tuple[Dataset, AugmentingCollate] | None:
    """The fine-tuning training set with on-the-fly augmented copies, or None when `spec.augment` is off."""
    section = spec.augment
    plan = augmentation_plan(labels, below=section.below, copies=section.copies)
    if section.policy == "none" or not plan:
        return None
    augmenter = Augmenter(backbone, settings=settings_from_spec(spec))
    return AugmentedExamples(inputs, targets, plan), AugmentingCollate(augmenter, seed=spec.run.seed)


def with_augmented_views(
    backbone: Backbone, *, inputs: list[str], labels: list[str], class_names: list[str], spec, features, targets
) -> tuple[np.ndarray, torch.Tensor, dict | None]:
    """Training features and targets with the augmented views appended (unchanged, None when augmentation is off)."""
    views, view_labels, details = augmented_training_views(backbone, inputs=inputs, labels=labels, spec=spec)
    if not len(views):
        return features, targets, None
    index = {name: position for position, name in enumerate(class_names)}
    view_targets = torch.tensor([index[label] for label in view_labels], dtype=torch.long)
    return np.concatenate([features, views]), torch.cat([targets, view_targets]), details
