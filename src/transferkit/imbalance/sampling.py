"""Resampling of the training split: random over / undersampling, balanced batches, SMOTE / ADASYN / Borderline-SMOTE.

Random over / undersampling pick row indices with imbalanced-learn, so they work on raw inputs (image
paths, texts, table rows) and on cached embeddings alike. The SMOTE family synthesises new vectors by
interpolating between neighbours, which only makes sense in a vector space: cached embeddings in the
probe, or preprocessed tabular columns (``tabular:columns``); never raw pixels or token ids. Balanced
batches draw each batch with replacement so every class is equally likely (a torch sampler).
Callers pass only the training split: validation and test rows are never resampled.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler

from transferkit.errors import ConfigError

INDEX_METHODS = ("oversample", "undersample")
SYNTHETIC_METHODS = ("smote", "adasyn", "borderline-smote")


def check_resample(method: str, *, on_features: bool) -> None:
    """Refuse synthetic resampling where the inputs are raw (fine-tuning), naming the options that do work."""
    if method in SYNTHETIC_METHODS and not on_features:
        raise ConfigError(
            f"The 'resample' option {method} synthesises vectors, so it runs on cached embeddings (--strategy probe) "
            "or tabular features, never on raw pixels or token ids; with fine-tuning use oversample, undersample "
            "or balanced-batches."
        )


def resample_indices(targets: np.ndarray, method: str, *, seed: int) -> np.ndarray:
    """Row indices after random over- or undersampling to equal class counts (imbalanced-learn).

    Example:
        >>> np.bincount(np.asarray([0, 0, 0, 1])[resample_indices(np.asarray([0, 0, 0, 1]), "oversample", seed=0)])
        array([3, 3])
    """
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler

    sampler_class = {"oversample": RandomOverSampler, "undersample": RandomUnderSampler}[method]
    sampler = sampler_class(random_state=seed)
    sampler.fit_resample(np.zeros((len(targets), 1)), targets)
    return np.sort(sampler.sample_indices_)


def synthesize(features: np.ndarray, targets: np.ndarray, method: str, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training vectors plus synthetic minority vectors (SMOTE, ADASYN or Borderline-SMOTE, imbalanced-learn).

    The original rows come first and unchanged; synthetic rows follow. k_neighbors shrinks to fit the
    smallest class (it needs at least 2 examples).
    """
    from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE

    smallest = int(np.bincount(targets).min())
    if smallest < 2:
        raise ConfigError(
            f"The 'resample' option {method} needs at least 2 training examples per class (one class has "
            f"{smallest}); use oversample or add examples."
        )
    neighbours = min(5, smallest - 1)
    if method == "smote":
        sampler = SMOTE(k_neighbors=neighbours, random_state=seed)
    elif method == "adasyn":
        sampler = ADASYN(n_neighbors=neighbours, random_state=seed)
    else:
        sampler = BorderlineSMOTE(k_neighbors=neighbours, random_state=seed)
    try:
        new_features, new_targets = sampler.fit_resample(features, targets)
    except (ValueError, RuntimeError) as exc:  # ADASYN / Borderline find no borderline minority rows on easy data
        raise ConfigError(f"The 'resample' option {method} could not run on this data ({exc}); try smote.") from None
    return np.asarray(new_features, dtype=features.dtype), np.asarray(new_targets, dtype=targets.dtype)


def resample_training(
    features: np.ndarray, targets: np.ndarray, method: str, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training features / targets after `method` (none and balanced-batches leave them as they are)."""
    if method in INDEX_METHODS:
        picked = resample_indices(targets, method, seed=seed)
        return features[picked], targets[picked]
    if method in SYNTHETIC_METHODS:
        return synthesize(features, targets, method, seed=seed)
    return features, targets


class BalancedBatchSampler(WeightedRandomSampler):
    """Draws examples with replacement, each class equally likely; epoch-seeded, so resume repeats the draws.

    Example:
        >>> sampler = BalancedBatchSampler(torch.tensor([0, 0, 0, 1]), seed=0)
        >>> len(list(sampler))
        4
    """

    def __init__(self, targets: torch.Tensor, *, seed: int, num_samples: int | None = None) -> None:
        counts = torch.bincount(targets).double()
        super().__init__((1.0 / counts)[targets], num_samples or len(targets), replacement=True)
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator = torch.Generator().manual_seed(self.seed * 7919 + epoch)
