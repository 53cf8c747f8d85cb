"""The classic model a data scientist would try first, per modality: the baseline that says whether transfer helped.

- text: TF-IDF (word 1-2 grams) + logistic regression;
- image: raw grey-scale pixels + logistic regression;
- tabular: histogram gradient boosting (scikit-learn) on the columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from transferkit.errors import NotFittedError

PIXEL_SIZE = 32
C_GRID = np.logspace(-2, 2, 5)
CLASSIC_DESCRIPTIONS = {
    "text": "TF-IDF + logistic regression",
    "image": "pixels + logistic regression",
    "tabular": "gradient boosting (scikit-learn HistGradientBoostingClassifier)",
}


def pixel_features(paths: list[str], size: int = PIXEL_SIZE) -> np.ndarray:
    """Grey-scale pixels of each image, resized to size x size, scaled to [0, 1], one row per image."""
    from transferkit.data.images import open_rgb

    rows = []
    for path in paths:
        grey = open_rgb(path).convert("L").resize((size, size))
        rows.append(np.asarray(grey, dtype=np.float32).ravel() / 255.0)
    return np.stack(rows)


def table_matrix(rows: Any) -> Any:
    """The feature table of tabular inputs: a DataFrame / 2-D array as is, else one row per item.

    Items may be sequences of values, mappings of column -> value, or JSON strings of either. Text columns
    become pandas categories, which the gradient-boosting baseline splits on natively.
    """
    import json

    import pandas as pd

    if isinstance(rows, np.ndarray):
        return rows.astype(float)
    frame = rows if isinstance(rows, pd.DataFrame) else None
    if frame is None:
        items = [json.loads(row) if isinstance(row, str) else row for row in rows]
        frame = pd.DataFrame(items if items and isinstance(items[0], dict) else [list(item) for item in items])
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]):
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")  # numbers written as text ("52000") stay numbers
        if numbers.notna().sum() == frame[column].notna().sum():
            frame[column] = numbers
        else:
            frame[column] = frame[column].astype("category")
    return frame


def stratified_folds(labels: list[str], seed: int) -> StratifiedKFold:
    smallest = min(np.unique(labels, return_counts=True)[1])
    return StratifiedKFold(int(max(2, min(3, smallest))), shuffle=True, random_state=seed)


class ClassicBaseline:
    """TF-IDF (word 1-2 grams) or raw pixels, then logistic regression with its L2 strength chosen by 3-fold CV;
    for tables (modality "tabular"), histogram gradient boosting on the columns (missing values allowed).

    Example:
        >>> model = ClassicBaseline(modality="text").fit(["good", "bad", "great", "awful"], ["+", "-", "+", "-"])
        >>> model.predict_proba(["good"]).shape
        (1, 2)
    """

    def __init__(self, *, modality: str, seed: int = 0) -> None:
        self.modality = modality
        self.seed = seed

    def _features(self) -> Any:
        if self.modality == "text":
            return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        return StandardScaler()

    def _inputs(self, inputs: Any) -> Any:
        if self.modality == "tabular":
            return table_matrix(inputs)
        return inputs if self.modality == "text" else pixel_features(inputs)

    def fit(self, inputs: Any, labels: list[str]) -> ClassicBaseline:
        if self.modality == "tabular":
            # Gradient boosting's defaults are strong on small tables; categories split natively, NaN allowed.
            booster = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=self.seed)
            self.pipeline_ = make_pipeline(booster).fit(self._inputs(inputs), labels)
            self.classes_ = list(self.pipeline_.classes_)
            return self
        solver = "liblinear" if len(set(labels)) == 2 else "lbfgs"  # liblinear: fast on sparse binary problems
        classifier = GridSearchCV(
            LogisticRegression(solver=solver, max_iter=2000),
            {"C": C_GRID},
            cv=stratified_folds(labels, self.seed),
            scoring="neg_log_loss",
        )
        self.pipeline_ = make_pipeline(self._features(), classifier).fit(self._inputs(inputs), labels)
        self.classes_ = list(self.pipeline_.classes_)
        return self

    def predict_proba(self, inputs: Any, *, class_names: list[str] | None = None) -> np.ndarray:
        """Probabilities with columns in `class_names` order (default: sorted training classes)."""
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("ClassicBaseline.predict_proba was called before fit; call fit(inputs, labels) first.")
        proba = self.pipeline_.predict_proba(self._inputs(inputs))
        names = class_names or self.classes_
        out = np.zeros((len(inputs), len(names)))
        for column, name in enumerate(self.classes_):
            out[:, names.index(name)] = proba[:, column]
        return out
