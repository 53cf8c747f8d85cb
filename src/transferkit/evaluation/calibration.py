"""Calibration: expected calibration error and the reliability-diagram bins it is made of."""

from __future__ import annotations

import numpy as np

CALIBRATION_BINS = 10


def reliability(y_true: np.ndarray, proba: np.ndarray, *, bins: int = CALIBRATION_BINS) -> dict:
    """Top-label reliability bins and the expected calibration error (ECE).

    Examples fall into `bins` equal-width bins of their top probability (confidence); ECE is the
    example-weighted mean of |accuracy - confidence| over bins. Empty bins are left out of the lists.

    Example:
        >>> r = reliability(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]))
        >>> round(r["ece"], 3)
        0.45
    """
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = {"bin_lower": [], "bin_upper": [], "confidence": [], "accuracy": [], "count": []}
    ece = 0.0
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        if not count:
            continue
        mean_confidence = float(confidence[members].mean())
        mean_accuracy = float(correct[members].mean())
        ece += count / len(y_true) * abs(mean_accuracy - mean_confidence)
        for key, value in zip(
            rows, (float(edges[b]), float(edges[b + 1]), mean_confidence, mean_accuracy, count), strict=True
        ):
            rows[key].append(value)
    return {"ece": float(ece), "bins": bins, **rows}
