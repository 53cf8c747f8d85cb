"""`TransferClassifier` (one class per item) and `TransferMultiLabelClassifier` (a 0/1 indicator matrix of labels
per item, as `sklearn.preprocessing.MultiLabelBinarizer` makes).

Example::

    from sklearn.model_selection import cross_val_score
    clf = TransferClassifier(backbone="bundled:minilm")
    cross_val_score(clf, reviews, stars, cv=3)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from transferkit.data.labels import join_label_set
from transferkit.estimators.base import TransferEstimator


class TransferClassifier(ClassifierMixin, TransferEstimator):
    """A pretrained backbone + head predicting one class per item (texts, image paths or table rows).

    Parameters map to `transferkit.fit` options: `backbone` (default: the modality's bundled model), `strategy`
    (default probe), `epochs`, `lr`, `valid_fraction`, `seed`, `output_dir` (keep the run folder; default a
    temporary one, removed after fit) and `options` (any other `transferkit.fit` keyword, e.g.
    ``{"class_weight": "balanced"}``). `input_kind` says what X holds ("auto": inferred).
    """

    task = "classification"

    def fit(self, X: Any, y: Any) -> TransferClassifier:
        """Train on items X and their classes y; returns self."""
        self._fit_run(X, y)
        return self

    def _label_cells(self, y: Any, n_rows: int) -> list[str]:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if len(y) != n_rows:
            raise ValueError(f"X has {n_rows} rows but y has {len(y)}; give one class per row.")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y holds one class ({self.classes_[0]!r}); a classifier needs at least two classes.")
        cells = [str(value) for value in y]
        if len(set(map(str, self.classes_))) != len(self.classes_):
            raise ValueError("Two classes of y print as the same text; give y one type of class label.")
        return cells

    def predict_proba(self, X: Any) -> np.ndarray:
        """Per item, the probability of each class in `classes_` order."""
        outputs = self._outputs(X)
        trained = {name: column for column, name in enumerate(self.task_.class_names)}
        proba = np.zeros((len(outputs), len(self.classes_)))
        for column, label in enumerate(self.classes_):
            if str(label) in trained:  # a class only in the validation rows has no output
                proba[:, column] = outputs[:, trained[str(label)]]
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """The class of each item, by the model's decision rule (argmax, or the threshold tuned at fit)."""
        outputs = self._outputs(X)  # checks that the estimator is fitted
        decided = self.task_.decide(outputs)
        by_text = {str(label): label for label in self.classes_}
        return np.asarray([by_text[name] for name in decided], dtype=self.classes_.dtype)


class TransferMultiLabelClassifier(ClassifierMixin, TransferEstimator):
    """A pretrained backbone + one sigmoid per label; y is an (n_items, n_labels) 0/1 indicator matrix.

    Per-label thresholds are tuned on the validation rows (`valid_fraction`) with a global fallback; `predict`
    returns the indicator matrix, `predict_proba` the (n_items, n_labels) probabilities, `score` the subset
    accuracy (scikit-learn's accuracy on label sets). Parameters as for `TransferClassifier`.
    """

    task = "multilabel"

    def fit(self, X: Any, y: Any) -> TransferMultiLabelClassifier:
        """Train on items X and their label indicator rows y; returns self."""
        self._fit_run(X, y)
        return self

    def _label_cells(self, y: Any, n_rows: int) -> list[str]:
        y = np.asarray(y)
        if type_of_target(y) not in ("multilabel-indicator",) and not (y.ndim == 2 and set(np.unique(y)) <= {0, 1}):
            raise ValueError(
                f"y must be a 2-D 0/1 indicator matrix (one column per label; {type_of_target(y)} given); "
                "sklearn.preprocessing.MultiLabelBinarizer makes one from lists of labels."
            )
        if len(y) != n_rows:
            raise ValueError(f"X has {n_rows} rows but y has {len(y)}; give one row of labels per item.")
        self.classes_ = np.arange(y.shape[1])
        return [join_label_set([f"label{j}" for j in np.flatnonzero(row)], "|") for row in y]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Per item, the probability of each label (columns in y's order)."""
        outputs = self._outputs(X)
        trained = {name: column for column, name in enumerate(self.task_.output_names)}
        proba = np.zeros((len(outputs), len(self.classes_)))
        for j in self.classes_:
            if f"label{j}" in trained:  # a label never positive in the training rows has no output
                proba[:, j] = outputs[:, trained[f"label{j}"]]
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """The 0/1 indicator matrix of predicted labels (each label's tuned threshold)."""
        outputs = self._outputs(X)
        decided = (outputs >= self.task_.cuts()).astype(np.int64)
        predicted = np.zeros((len(outputs), len(self.classes_)), dtype=np.int64)
        for column, name in enumerate(self.task_.output_names):
            predicted[:, int(name.removeprefix("label"))] = decided[:, column]
        return predicted

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.two_d_labels = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags
