"""The classic model a data scientist would try first, per modality: the baseline that says whether transfer helped.

Each modality supplies its recipe (`Modality.classic`): TF-IDF (word 1-2 grams) + logistic regression for
texts, raw grey-scale pixels + logistic regression for images, histogram gradient boosting for tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.pipeline import make_pipeline

from transferkit.errors import ConfigError, NotFittedError
from transferkit.modalities import ClassicRecipe, get_modality
from transferkit.modalities.classic import C_GRID, stratified_folds
from transferkit.modalities.image import PIXEL_SIZE, pixel_features
from transferkit.modalities.tabular import table_matrix

# Re-exported: the helpers moved into the modality modules; strategies and tests import them from here.
__all__ = [
    "C_GRID",
    "PIXEL_SIZE",
    "ClassicBaseline",
    "classic_recipe",
    "pixel_features",
    "stratified_folds",
    "table_matrix",
]


def classic_recipe(modality: str) -> ClassicRecipe:
    """The modality's classic baseline recipe; ConfigError when it has none (audio)."""
    recipe = get_modality(modality).classic
    if recipe is None:
        raise ConfigError(f"There is no classic baseline for {modality} data; use a pretrained backbone.")
    return recipe


class ClassicBaseline:
    """The modality's classic pipeline (e.g. TF-IDF or raw pixels, then logistic regression with its L2 strength
    chosen by 3-fold CV; for tables, histogram gradient boosting on the columns, missing values allowed).

    Example:
        >>> model = ClassicBaseline(modality="text").fit(["good", "bad", "great", "awful"], ["+", "-", "+", "-"])
        >>> model.predict_proba(["good"]).shape
        (1, 2)
    """

    def __init__(self, *, modality: str, seed: int = 0) -> None:
        self.modality = modality
        self.seed = seed

    def fit(self, inputs: Any, labels: list[str]) -> ClassicBaseline:
        recipe = classic_recipe(self.modality)
        self.pipeline_ = make_pipeline(*recipe.steps(labels, self.seed)).fit(recipe.prepare(inputs), labels)
        self.classes_ = list(self.pipeline_.classes_)
        return self

    def predict_proba(self, inputs: Any, *, class_names: list[str] | None = None) -> np.ndarray:
        """Probabilities with columns in `class_names` order (default: sorted training classes)."""
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("ClassicBaseline.predict_proba was called before fit; call fit(inputs, labels) first.")
        proba = self.pipeline_.predict_proba(classic_recipe(self.modality).prepare(inputs))
        names = class_names or self.classes_
        out = np.zeros((len(inputs), len(names)))
        for column, name in enumerate(self.classes_):
            out[:, names.index(name)] = proba[:, column]
        return out
