"""Classification metrics on class probabilities, as plain JSON-ready dicts.

Every number is computed by scikit-learn; this module only decides which ones and how they are keyed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from transferkit.evaluation.calibration import reliability
from transferkit.imbalance.threshold import apply_threshold

HEADLINE = "accuracy"
BOOTSTRAP_SAMPLES = 1000


def label_indices(labels: list[str], class_names: list[str]) -> np.ndarray:
    """Positions of `labels` in `class_names`."""
    index = {name: position for position, name in enumerate(class_names)}
    return np.array([index[label] for label in labels], dtype=np.int64)


def ranking_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float | None]:
    """ROC-AUC and PR-AUC (average precision): binary on the second class, else macro one-vs-rest.

    A score is None when it is undefined (a class absent from `y_true`).

    Example:
        >>> ranking_metrics(np.array([0, 1, 1]), np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]))["roc_auc"]
        1.0
    """
    num_classes = proba.shape[1]
    present = np.unique(y_true)
    if len(present) < 2:
        return {"roc_auc": None, "pr_auc": None}
    if num_classes == 2:
        return {
            "roc_auc": float(roc_auc_score(y_true, proba[:, 1])),
            "pr_auc": float(average_precision_score(y_true, proba[:, 1])),
        }
    onehot = np.eye(num_classes)[y_true][:, present]
    scores = proba[:, present]
    return {
        "roc_auc": float(roc_auc_score(onehot, scores, average="macro")),
        "pr_auc": float(average_precision_score(onehot, scores, average="macro")),
    }


def class_pr_auc(labels: list[str], proba: np.ndarray, class_names: list[str], positive: str) -> float | None:
    """PR-AUC (average precision) of one class against the rest: for binary tasks, the minority class's.

    `pr_auc` above scores the second class of a binary task; with a rare first class that is the easy one.

    Example:
        >>> proba = np.array([[0.7, 0.3], [0.2, 0.8], [0.4, 0.6]])
        >>> class_pr_auc(["bad", "good", "good"], proba, ["bad", "good"], "bad")
        1.0
    """
    hits = np.array([label == positive for label in labels])
    if hits.all() or not hits.any():
        return None
    return float(average_precision_score(hits, np.asarray(proba)[:, class_names.index(positive)]))


def bootstrap_interval(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    metric: Callable[[np.ndarray, np.ndarray], float] | None = None,
    samples: int = BOOTSTRAP_SAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `metric(y_true, y_pred)` (default: accuracy) over resampled examples.

    Example:
        >>> low, high = bootstrap_interval(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]))
        >>> 0.0 <= low <= 0.75 <= high <= 1.0
        True
    """
    rng = np.random.default_rng(seed)
    n = len(y_true)
    draws = rng.integers(0, n, size=(samples, n))
    if metric is None:  # accuracy, vectorised over all resamples at once
        values = (y_true == y_pred).astype(np.float64)[draws].mean(axis=1)
    else:
        values = np.array([metric(y_true[rows], y_pred[rows]) for rows in draws])
    tail = (1.0 - confidence) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def classification_metrics(
    labels: list[str],
    proba: np.ndarray,
    class_names: list[str],
    *,
    seed: int = 0,
    bootstrap: bool = True,
    threshold: dict | None = None,
) -> dict:
    """Accuracy (with a bootstrap 95% interval), balanced accuracy, macro / weighted F1, ROC-AUC, PR-AUC,
    log-loss, expected calibration error with reliability bins, per-class precision / recall / F1 / support
    and the confusion matrix. A binary `threshold` record (transferkit.imbalance.threshold) replaces argmax for
    the predicted labels; ranking metrics and log-loss use the probabilities either way.

    Example:
        >>> m = classification_metrics(["a", "b"], np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"])
        >>> m["accuracy"], m["macro_f1"], m["roc_auc"]
        (1.0, 1.0, 1.0)
    """
    proba = np.asarray(proba, dtype=np.float64)
    y_true = label_indices(labels, class_names)
    y_pred = apply_threshold(proba, class_names, threshold)
    classes = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    counts = np.bincount(y_true, minlength=len(class_names))
    metrics = {
        "num_examples": len(labels),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=classes, average="weighted", zero_division=0)),
        **ranking_metrics(y_true, proba),
        "log_loss": float(log_loss(y_true, proba / proba.sum(axis=1, keepdims=True), labels=classes)),
        "majority_rate": float(counts.max() / counts.sum()),
    }
    if bootstrap:
        low, high = bootstrap_interval(y_true, y_pred, seed=seed)
        metrics["interval"] = {"metric": HEADLINE, "confidence": 0.95, "low": low, "high": high}
    calibration = reliability(y_true, proba)
    metrics["ece"] = calibration["ece"]
    metrics["calibration"] = calibration
    metrics["per_class"] = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    metrics["confusion_matrix"] = {
        "labels": list(class_names),
        "matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
    }
    return metrics
