"""Forecast errors: MASE, sMAPE and direction accuracy, pure functions over arrays (numpy only).

MASE divides the forecast's mean absolute error by the in-sample mean absolute error of the (seasonal) naive
forecast on the training history: below 1 beats a random walk's typical one-step error, and the naive
forecast's own MASE over a horizon is its honest reference. sMAPE is in percent (0 to 200, the M4 form).

Example:
    >>> import numpy as np
    >>> history, actual, forecast = np.array([1.0, 2.0, 4.0]), np.array([5.0, 6.0]), np.array([4.0, 7.0])
    >>> mase(actual=actual, forecast=forecast, history=history)
    0.6666666666666666
    >>> round(smape(actual=actual, forecast=forecast), 3)
    18.803
    >>> direction_accuracy(actual=actual, forecast=forecast, last=4.0)
    0.5
"""

from __future__ import annotations

import numpy as np


def naive_scale(history: np.ndarray, *, season: int = 1) -> float:
    """Mean absolute error of the seasonal naive forecast in-sample: MASE's denominator."""
    history = np.asarray(history, dtype=float)
    if len(history) <= season:
        raise ValueError(f"MASE needs more than {season} history points; got {len(history)}.")
    return float(np.mean(np.abs(history[season:] - history[:-season])))


def mase(*, actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int = 1) -> float:
    """Mean absolute scaled error; NaN when the history never changes (a zero scale)."""
    scale = naive_scale(history, season=season)
    error = float(np.mean(np.abs(np.asarray(actual, dtype=float) - np.asarray(forecast, dtype=float))))
    return error / scale if scale > 0 else float("nan")


def smape(*, actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric mean absolute percentage error in percent; a step where both are 0 counts as no error."""
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(np.abs(actual - forecast), denominator, out=np.zeros_like(actual), where=denominator > 0)
    return float(200.0 * np.mean(ratio))


def direction_accuracy(*, actual: np.ndarray, forecast: np.ndarray, last: float) -> float | None:
    """Share of steps whose move from the last observed value has the actual move's sign.

    Steps where the actual value did not move are left out; None when the forecast never moves (the naive
    forecast predicts no change, so it has no direction to score) or nothing moved.
    """
    actual_move = np.sign(np.asarray(actual, dtype=float) - last)
    forecast_move = np.sign(np.asarray(forecast, dtype=float) - last)
    scored = actual_move != 0
    if not scored.any() or not forecast_move.any():
        return None
    return float(np.mean(actual_move[scored] == forecast_move[scored]))


def mean_or_none(values: list[float | None]) -> float | None:
    """The mean of the finite values, None if there are none (e.g. the naive forecast's direction accuracy)."""
    kept = [value for value in values if value is not None and np.isfinite(value)]
    return float(np.mean(kept)) if kept else None
