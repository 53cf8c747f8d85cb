"""Regression metrics with bootstrap intervals, the training-mean baseline, and conformal intervals.

Every score is scikit-learn's or SciPy's; this module decides which ones and how they are keyed.

Example:
    >>> m = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.1, 1.9, 3.2, 3.9]), train_mean=2.5)
    >>> round(m["mae"], 3), round(m["baseline"]["mae"], 3)
    (0.125, 1.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from transferkit.evaluation.metrics import bootstrap_interval

REGRESSION_BOOTSTRAP_SAMPLES = 500
CONFORMAL_COVERAGE = 0.9


def _rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(math.sqrt(mean_squared_error(y_true, y_pred)))


def _spearman(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if np.ptp(y_true) == 0 or np.ptp(y_pred) == 0:
        return float("nan")  # a constant has no ranks to correlate
    return float(spearmanr(y_true, y_pred).statistic)


SCORES = {"mae": mean_absolute_error, "rmse": _rmse, "r2": r2_score, "spearman": _spearman}


def regression_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, *, train_mean: float, seed: int = 0, interval: bool = True
) -> dict[str, Any]:
    """MAE, RMSE, R² and Spearman's rank correlation of `y_pred`, each with a 95% bootstrap interval (Spearman's
    only where every resample has ranks to correlate), and the same errors of always predicting the training
    split's mean (the baseline a model must beat)."""
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    metrics: dict[str, Any] = {"num_examples": len(y_true)}
    for name, score in SCORES.items():
        value = float(score(y_true, y_pred)) if len(y_true) > 1 else float("nan")
        metrics[name] = None if math.isnan(value) else value
    if interval and len(y_true) > 2:
        intervals = {name: _interval(y_true, y_pred, score, seed=seed) for name, score in SCORES.items()}
        # Spearman is undefined on a resample of one repeated value (tiny sets): no interval then, not a NaN one.
        metrics["intervals"] = {name: bounds for name, bounds in intervals.items() if bounds is not None}
    mean = np.full_like(y_true, train_mean)
    metrics["baseline"] = {
        "name": "training mean",
        "value": float(train_mean),
        "mae": float(mean_absolute_error(y_true, mean)),
        "rmse": _rmse(y_true, mean),
        "r2": float(r2_score(y_true, mean)) if len(y_true) > 1 else None,
    }
    return metrics


def _interval(y_true: np.ndarray, y_pred: np.ndarray, score, *, seed: int) -> dict[str, float] | None:
    low, high = bootstrap_interval(y_true, y_pred, metric=score, samples=REGRESSION_BOOTSTRAP_SAMPLES, seed=seed)
    return None if math.isnan(low) or math.isnan(high) else {"low": low, "high": high}


def conformal_halfwidth(y_true: np.ndarray, y_pred: np.ndarray, *, coverage: float = CONFORMAL_COVERAGE) -> float:
    """Split-conformal half-width: the ceil((n + 1) * coverage)-th smallest absolute residual on held-out rows,
    so that [prediction - w, prediction + w] holds a new value with probability >= `coverage` (exchangeable rows).

    Example:
        >>> conformal_halfwidth(np.arange(10.0), np.arange(10.0) + np.linspace(-1, 1, 10), coverage=0.8)
        1.0
    """
    residuals = np.sort(np.abs(np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)))
    rank = math.ceil((len(residuals) + 1) * coverage)
    return float(residuals[min(rank, len(residuals)) - 1])


def interval_coverage(y_true: np.ndarray, y_pred: np.ndarray, halfwidth: float) -> float:
    """The share of `y_true` inside [y_pred - halfwidth, y_pred + halfwidth]."""
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred)) <= halfwidth))
