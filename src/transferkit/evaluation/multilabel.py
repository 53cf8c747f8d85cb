"""Multi-label metrics, threshold tuning and label statistics on 0/1 label rows and per-label probabilities.

Every score is scikit-learn's; this module decides which ones, how thresholds are picked and how results are keyed.

Example:
    >>> y = np.array([[1, 0], [0, 1], [1, 1]])
    >>> p = np.array([[0.9, 0.2], [0.3, 0.8], [0.7, 0.4]])
    >>> m = multilabel_metrics(y, p, np.array([0.5, 0.5]), ["a", "b"])
    >>> round(m["micro_f1"], 3), m["subset_accuracy"]
    (0.857, 0.6666666666666666)
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
)

THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)
MIN_POSITIVES_TO_TUNE = 5  # fewer validation positives than this: the label uses the global threshold
TOP_PAIRS = 10


def multilabel_metrics(y_true: np.ndarray, proba: np.ndarray, thresholds: np.ndarray, names: list[str]) -> dict:
    """Micro / macro / samples F1, mean average precision, subset accuracy, Hamming loss and per-label
    precision / recall / F1 / support of `proba` cut at `thresholds` (one per label) against `y_true`."""
    y_true = np.asarray(y_true).astype(int)
    predicted = (np.asarray(proba) >= np.asarray(thresholds)).astype(int)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, predicted, zero_division=0)
    return {
        "num_examples": len(y_true),
        "micro_f1": float(f1_score(y_true, predicted, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y_true, predicted, average="macro", zero_division=0)),
        "samples_f1": float(f1_score(y_true, predicted, average="samples", zero_division=0)),
        "mean_average_precision": mean_average_precision(y_true, proba),
        "subset_accuracy": float(accuracy_score(y_true, predicted)),
        "hamming_loss": float(hamming_loss(y_true, predicted)),
        "label_cardinality": {
            "true": float(y_true.sum(axis=1).mean()),
            "predicted": float(predicted.sum(axis=1).mean()),
        },
        "per_label": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
        },
    }


def mean_average_precision(y_true: np.ndarray, proba: np.ndarray) -> float | None:
    """Average precision averaged over the labels that have a positive in `y_true` (None when none has)."""
    present = np.asarray(y_true).sum(axis=0) > 0
    if not present.any():
        return None
    return float(average_precision_score(y_true[:, present], np.asarray(proba)[:, present], average="macro"))


def tune_thresholds(y_true: np.ndarray, proba: np.ndarray, *, min_positives: int = MIN_POSITIVES_TO_TUNE) -> dict:
    """Per-label decision thresholds that maximise each label's F1 on these (validation) rows.

    A global threshold (the best micro-F1 of one cut for every label) comes first; a label with fewer than
    `min_positives` positives here keeps it, since a cut tuned on two or three examples only memorises them.

    Example:
        >>> y = np.array([[1], [1], [0], [0]] * 3)
        >>> p = np.array([[0.4], [0.35], [0.2], [0.1]] * 3)
        >>> tune_thresholds(y, p)["thresholds"]
        [0.3]
    """
    y_true, proba = np.asarray(y_true).astype(int), np.asarray(proba)
    micro = [f1_score(y_true, (proba >= cut).astype(int), average="micro", zero_division=0) for cut in THRESHOLD_GRID]
    global_cut = _middle_of_best(micro)
    thresholds, tuned = [], []
    for label in range(y_true.shape[1]):
        if y_true[:, label].sum() < min_positives:
            thresholds.append(global_cut)
            continue
        scores = [f1_score(y_true[:, label], proba[:, label] >= cut, zero_division=0) for cut in THRESHOLD_GRID]
        thresholds.append(_middle_of_best(scores))
        tuned.append(label)
    return {"thresholds": thresholds, "global": global_cut, "tuned_labels": len(tuned), "min_positives": min_positives}


def _middle_of_best(scores: list[float]) -> float:
    """The middle cut of the grid's best-scoring run: a plateau's edge sits next to the rows that made it."""
    best = np.flatnonzero(np.isclose(scores, np.max(scores)))
    return float(THRESHOLD_GRID[int(best[len(best) // 2])])


def label_statistics(y_true: np.ndarray, names: list[str], *, top: int = TOP_PAIRS) -> dict[str, Any]:
    """Label cardinality (labels per example), density, examples per label and the most frequent pairs."""
    y_true = np.asarray(y_true).astype(int)
    pairs: Counter = Counter()
    for row in y_true:
        pairs.update(combinations([names[i] for i in np.flatnonzero(row)], 2))
    return {
        "cardinality": float(y_true.sum(axis=1).mean()) if len(y_true) else 0.0,
        "density": float(y_true.mean()) if y_true.size else 0.0,
        "examples_without_label": int((y_true.sum(axis=1) == 0).sum()),
        "label_counts": {name: int(count) for name, count in zip(names, y_true.sum(axis=0), strict=True)},
        "top_pairs": [{"labels": list(pair), "examples": count} for pair, count in pairs.most_common(top)],
    }


def label_set_baselines(y_true: np.ndarray, train_rows: np.ndarray) -> dict[str, float]:
    """Micro-F1 of two predictors that ignore the input: no label at all, and the training split's most
    frequent label set for every example (what a model must beat to have learnt anything)."""
    y_true = np.asarray(y_true).astype(int)
    sets = Counter(map(tuple, np.asarray(train_rows).astype(int)))
    frequent = np.array(sets.most_common(1)[0][0]) if sets else np.zeros(y_true.shape[1], int)
    constant = np.tile(frequent, (len(y_true), 1))
    return {
        "all_negative_micro_f1": float(f1_score(y_true, np.zeros_like(y_true), average="micro", zero_division=0)),
        "frequent_set_micro_f1": float(f1_score(y_true, constant, average="micro", zero_division=0)),
        "frequent_set": [int(v) for v in frequent],
    }
