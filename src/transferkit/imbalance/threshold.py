"""Decision threshold for binary tasks, tuned on the validation split.

With a rare class, argmax (threshold 0.5) trades nearly all minority recall for accuracy. The tuned
threshold is the cut on the minority class's probability that maximises balanced accuracy (the mean of
the two recalls) on the validation rows; it is stored in model.json and used by predict and evaluate.

Example:
    >>> t = tune_threshold(np.array([0, 0, 0, 1]), np.array([0.1, 0.2, 0.35, 0.3]))
    >>> 0.2 < t <= 0.3
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_curve

from transferkit.errors import ConfigError

OBJECTIVE = "balanced_accuracy"


def tune_threshold(positive: np.ndarray, scores: np.ndarray) -> float:
    """Threshold on `scores` (probability of the positive class) maximising balanced accuracy.

    Balanced accuracy is (TPR + TNR) / 2 = (1 + TPR - FPR) / 2, so the best cut is the ROC point with
    the largest Youden J = TPR - FPR (scikit-learn's roc_curve lists every distinct cut).
    """
    fpr, tpr, cuts = roc_curve(positive, scores)
    best = int(np.argmax(tpr - fpr))
    return float(min(cuts[best], 1.0))


def threshold_record(
    class_names: list[str], class_counts: dict[str, int], labels: list[str], proba: np.ndarray
) -> dict:
    """The tuned threshold for the training minority class, as stored in model.json and metrics.json."""
    minority = min(class_names, key=lambda name: (class_counts.get(name, 0), name))
    column = class_names.index(minority)
    positive = np.array([label == minority for label in labels], dtype=int)
    value = tune_threshold(positive, proba[:, column])
    return {"class": minority, "value": round(value, 6), "objective": OBJECTIVE, "tuned_on": "valid"}


def apply_threshold(proba: np.ndarray, class_names: list[str], threshold: dict[str, Any] | None) -> np.ndarray:
    """Predicted class indices: the thresholded class where its probability reaches the value, else argmax."""
    predicted = np.asarray(proba).argmax(axis=1)
    if not threshold:
        return predicted
    column = class_names.index(threshold["class"])
    other = 1 - column
    return np.where(proba[:, column] >= threshold["value"], column, other)


def check_threshold_option(choice: str, *, num_classes: int, has_valid: bool) -> None:
    """--threshold auto needs a binary task and validation rows to tune on; say so before training."""
    if choice != "auto":
        return
    if num_classes != 2:
        raise ConfigError(
            f"The 'threshold' option auto is for binary tasks; this one has {num_classes} classes. Use argmax."
        )
    if not has_valid:
        raise ConfigError(
            "The 'threshold' option auto is tuned on the validation split; set --valid-fraction above 0 "
            "or pass --valid-data."
        )
