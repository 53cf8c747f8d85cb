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


TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))


def temperature_scaled(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities with their logits (log-probabilities) divided by `temperature`, renormalised."""
    logits = np.log(np.clip(proba, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(y_true: np.ndarray, proba: np.ndarray) -> float:
    """The temperature (on a log grid from 0.05 to 20) that minimises the log loss of held-out predictions.

    Example:
        >>> overconfident = np.array([[0.99, 0.01], [0.99, 0.01], [0.01, 0.99], [0.99, 0.01]])
        >>> fit_temperature(np.array([0, 0, 1, 1]), overconfident) > 1
        True
    """
    rows = np.arange(len(y_true))
    losses = [-np.log(np.clip(temperature_scaled(proba, t)[rows, y_true], 1e-12, 1.0)).mean() for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def temperature_record(
    fit_on: tuple[np.ndarray, np.ndarray], score_on: tuple[np.ndarray, np.ndarray], *, fitted_on: str
) -> dict:
    """Temperature scaling fitted on one set of held-out predictions, with the ECE and log loss it gives on another
    (before and after), so a report can say whether the model's probabilities mean what they say."""
    temperature = fit_temperature(*fit_on)
    y, proba = score_on
    after = temperature_scaled(proba, temperature)
    rows = np.arange(len(y))

    def log_loss(p: np.ndarray) -> float:
        return float(-np.log(np.clip(p[rows, y], 1e-12, 1.0)).mean())

    return {
        "temperature": round(temperature, 4),
        "fitted_on": fitted_on,
        "ece_before": round(reliability(y, proba)["ece"], 4),
        "ece_after": round(reliability(y, after)["ece"], 4),
        "log_loss_before": round(log_loss(proba), 4),
        "log_loss_after": round(log_loss(after), 4),
    }
