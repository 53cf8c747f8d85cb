"""Classification metrics on class probabilities, as plain JSON-ready dicts."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)


def classification_metrics(labels: list[str], proba: np.ndarray, class_names: list[str]) -> dict:
    """Accuracy, balanced accuracy, macro-F1, per-class precision / recall / F1 / support, confusion matrix.

    Example:
        >>> m = classification_metrics(["a", "b"], np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"])
        >>> m["accuracy"]
        1.0
    """
    index = {name: position for position, name in enumerate(class_names)}
    y_true = np.array([index[label] for label in labels])
    y_pred = proba.argmax(axis=1)
    classes = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0
    )
    counts = np.bincount(y_true, minlength=len(class_names))
    return {
        "num_examples": len(labels),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)),
        "majority_rate": float(counts.max() / counts.sum()),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": {
            "labels": list(class_names),
            "matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
        },
    }
