"""Classification metrics on class probabilities, as plain JSON-ready dicts.

Every number is computed by scikit-learn (the macro ROC-AUC / PR-AUC of more than 50 classes by the same
definitions here, see `many_class_ranking`); this module decides which ones and how they are keyed.
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
# A confusion matrix is kept whole up to this many classes; above it, the most confused classes only (a
# 10,000-class matrix would be 100 million cells in metrics.json and an unreadable figure).
CONFUSION_MAX_CLASSES = 30
# Above this many classes the macro ROC-AUC / PR-AUC come from `many_class_ranking` (same values, far faster).
SKLEARN_RANKING_MAX_CLASSES = 50


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
    if len(present) > SKLEARN_RANKING_MAX_CLASSES:
        return many_class_ranking(y_true, proba, present)
    onehot = (y_true[:, None] == present[None, :]).astype(np.int8)  # rows x present classes, never classes^2
    scores = proba[:, present]
    return {
        "roc_auc": float(roc_auc_score(onehot, scores, average="macro")),
        "pr_auc": float(average_precision_score(onehot, scores, average="macro")),
    }


def mean_log_loss(y_true: np.ndarray, proba: np.ndarray) -> float:
    """scikit-learn's log-loss; above SKLEARN_RANKING_MAX_CLASSES classes from the true classes' column alone (the
    same clipped value: its one-hot labels and temporaries are several rows x classes arrays).

    Example:
        >>> round(mean_log_loss(np.array([0, 1]), np.array([[0.8, 0.2], [0.5, 0.5]])), 4)
        0.4581
    """
    if proba.shape[1] <= SKLEARN_RANKING_MAX_CLASSES:
        return float(log_loss(y_true, proba, labels=list(range(proba.shape[1]))))
    eps = np.finfo(proba.dtype).eps
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y_true)), y_true], eps, 1 - eps))))


def many_class_ranking(y_true: np.ndarray, proba: np.ndarray, present: np.ndarray) -> dict[str, float]:
    """Macro one-vs-rest ROC-AUC and average precision over the `present` classes, by their definitions
    (ties count half; precision at each positive's score), the values scikit-learn gives. Its macro average
    re-validates the whole matrix for every class (97 s for 1,500 classes x 3,000 rows); this is O(rows^2).

    Example:
        >>> y = np.array([0, 1, 2, 2]); p = np.array([[.6, .2, .2], [.2, .5, .3], [.1, .3, .6], [.3, .3, .4]])
        >>> many_class_ranking(y, p, np.array([0, 1, 2]))  # every class's rows score highest on its column
        {'roc_auc': 1.0, 'pr_auc': 1.0}
    """
    roc, precision = [], []
    for position in present:
        column, positive = proba[:, position], y_true == position
        scores = column[positive]
        below_all = (column[None, :] < scores[:, None]).sum(axis=1)
        tied_all = (column[None, :] == scores[:, None]).sum(axis=1)
        below_pos = (scores[None, :] < scores[:, None]).sum(axis=1)
        tied_pos = (scores[None, :] == scores[:, None]).sum(axis=1)
        negatives = len(column) - len(scores)
        roc.append(((below_all - below_pos) + 0.5 * (tied_all - tied_pos)).sum() / (len(scores) * negatives))
        precision.append(np.mean((len(scores) - below_pos) / (len(column) - below_all)))
    return {"roc_auc": float(np.mean(roc)), "pr_auc": float(np.mean(precision))}


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
        "log_loss": mean_log_loss(y_true, proba / proba.sum(axis=1, keepdims=True)),
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
    metrics["confusion_matrix"] = confusion_block(y_true, y_pred, class_names)
    return metrics


def confusion_block(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str], *, limit: int = CONFUSION_MAX_CLASSES
) -> dict:
    """The confusion matrix as {labels, matrix}; above `limit` classes only the `limit` classes most often
    involved in a mistake (as the true or the predicted class), with `classes_total` saying how many there are.

    Example:
        >>> block = confusion_block(np.array([0, 1, 2, 2]), np.array([0, 2, 1, 2]), ["a", "b", "c"], limit=2)
        >>> block["labels"], block["matrix"], block["classes_total"]
        (['b', 'c'], [[0, 1], [1, 1]], 3)
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(class_names) <= limit:
        matrix = confusion_matrix(y_true, y_pred, labels=list(range(len(class_names))))
        return {"labels": list(class_names), "matrix": matrix.tolist()}
    wrong = y_true != y_pred
    involved = np.bincount(y_true[wrong], minlength=len(class_names)) + np.bincount(
        y_pred[wrong], minlength=len(class_names)
    )
    keep = np.sort(np.argsort(-involved, kind="stable")[:limit])
    position = np.full(len(class_names), -1)
    position[keep] = np.arange(len(keep))
    rows, columns = position[y_true], position[y_pred]
    both = (rows >= 0) & (columns >= 0)
    matrix = np.zeros((len(keep), len(keep)), dtype=np.int64)
    np.add.at(matrix, (rows[both], columns[both]), 1)
    return {"labels": [class_names[i] for i in keep], "matrix": matrix.tolist(), "classes_total": len(class_names)}
