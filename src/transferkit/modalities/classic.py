"""Pieces the classic baselines share: logistic regression with a cross-validated L2 strength, and the
`ClassicFeatures` transform type a `FeatureModel` stores (TF-IDF for texts, grey pixels for images).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from transferkit.errors import ConfigError
from transferkit.modalities.registry import get_modality

C_GRID = np.logspace(-2, 2, 5)


def stratified_folds(labels: list[str], seed: int) -> StratifiedKFold:
    """2 or 3 shuffled stratified folds: as many as the smallest class allows."""
    smallest = min(np.unique(labels, return_counts=True)[1])
    return StratifiedKFold(int(max(2, min(3, smallest))), shuffle=True, random_state=seed)


def logistic_cv(labels: list[str], seed: int) -> GridSearchCV:
    """Logistic regression whose L2 strength is chosen by stratified CV on log loss."""
    solver = "liblinear" if len(set(labels)) == 2 else "lbfgs"  # liblinear: fast on sparse binary problems
    return GridSearchCV(
        LogisticRegression(solver=solver, max_iter=2000),
        {"C": C_GRID},
        cv=stratified_folds(labels, seed),
        scoring="neg_log_loss",
    )


class ClassicFeatures:
    """Raw inputs -> classic feature rows that save as JSON + tensors (no pickle) with a FeatureModel.

    Each modality with a linear classic baseline subclasses it (`TfidfFeatures`, `PixelFeatures`); `scaled`
    says whether its rows are standardised and divided by sqrt(size) before the linear layer (pixels) or
    are already unit-norm (TF-IDF). Subclasses provide `fitted`, `from_step`, `restored`, `size`,
    `transform_sparse`, `config` and `tensors`; `ClassicFeatures.fit` and `.from_saved` pick the subclass
    from the modality.

    Example:
        >>> features = ClassicFeatures.fit(["good tea", "bad tea"], modality="text")
        >>> features.transform(["good"]).shape == (1, features.size)
        True
    """

    modality: str = ""
    scaled: bool = True
    terms: list[str] | None = None

    @staticmethod
    def fit(inputs: list[str], *, modality: str) -> ClassicFeatures:
        """The modality's transform fitted on `inputs`."""
        return features_type(modality).fitted(inputs)

    @staticmethod
    def from_saved(config: dict[str, Any], terms: list[str] | None, tensors: dict[str, torch.Tensor]):
        """The transform a FeatureModel saved (`config()` names its modality)."""
        return features_type(config["modality"]).restored(config, terms, tensors)

    @classmethod
    def fitted(cls, inputs: list[str]) -> ClassicFeatures:
        """The transform fitted on training inputs."""
        raise NotImplementedError

    @classmethod
    def from_step(cls, step: Any) -> ClassicFeatures:
        """The transform from the first step of a fitted classic-baseline pipeline."""
        raise NotImplementedError

    @classmethod
    def restored(cls, config: dict[str, Any], terms: list[str] | None, tensors: dict[str, torch.Tensor]):
        """The transform rebuilt from what `config()` and `tensors()` saved."""
        raise NotImplementedError

    @property
    def size(self) -> int:
        raise NotImplementedError

    def transform_sparse(self, inputs: list[str]) -> sp.csr_matrix | np.ndarray:
        raise NotImplementedError

    def transform(self, inputs: list[str]) -> np.ndarray:
        rows = self.transform_sparse(inputs)
        return np.asarray(rows.toarray() if sp.issparse(rows) else rows, dtype=np.float32)

    def config(self) -> dict[str, Any]:
        """What rebuilds this transform (with `tensors()`): JSON-safe, with the modality that reads it back."""
        raise NotImplementedError

    def tensors(self) -> dict[str, torch.Tensor]:
        return {}


def features_type(modality: str) -> type[ClassicFeatures]:
    """The modality's classic feature transform; ConfigError when its classic baseline has none (tables, audio)."""
    recipe = get_modality(modality).classic
    if recipe is None or recipe.features is None:
        raise ConfigError(f"There is no linear classic feature transform for {modality} data.")
    return recipe.features
