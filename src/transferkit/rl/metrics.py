"""Transfer metrics on learning curves (Taylor & Stone 2009), per seed and across seeds with intervals.

A learning curve is the mean evaluation return at evaluation points (environment steps). Transfer and
scratch curves of one seed share the same evaluation points and budget.

- jumpstart: transfer[0] - scratch[0], the head start before any training on the target.
- asymptotic: mean of the last `tail` points, transfer minus scratch.
- transfer_ratio: area under the transfer curve / area under the scratch curve (Taylor & Stone's "total reward").
- area_ratio: (area_transfer - area_scratch) / |area_scratch|; the absolute value keeps the sign meaningful
  for negative rewards (Pendulum, MountainCar). Areas use the trapezoid rule over steps.
- time to threshold: first step where a curve reaches the threshold (linear between points: none);
  ``time_to_threshold_ratio`` = scratch / transfer (> 1: transfer reaches it sooner); seeds where a curve
  never reaches the threshold have no ratio. Across seeds, ``time_to_threshold_ratio_of_means`` divides the
  mean times (finite even when transfer starts above the threshold).
- NEGATIVE TRANSFER: the transfer learner gathers less reward over the budget than learning from scratch:
  the mean over seeds of area_difference (area_transfer - area_scratch) is below 0;
  ``negative_transfer_confident`` when its whole interval is. The difference, not the ratio, decides: a ratio
  swings wildly when the scratch area is near 0 (returns that cross zero, as in HalfCheetah).

Example:
    >>> m = transfer_metrics(steps=[0, 1, 2], transfer=[5, 8, 9], scratch=[1, 5, 9])
    >>> m["jumpstart"], m["asymptotic"]
    (4.0, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from transferkit.errors import ConfigError


def area_under_curve(steps: Sequence[float], values: Sequence[float]) -> float:
    """Trapezoid-rule area of a learning curve over environment steps (a single point: its value)."""
    steps_, values_ = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    if len(steps_) == 1:
        return float(values_[0])
    return float(np.sum((values_[1:] + values_[:-1]) / 2 * np.diff(steps_)))


def time_to_threshold(steps: Sequence[float], values: Sequence[float], threshold: float) -> float | None:
    """First evaluation step whose value is at least `threshold`; None if the curve never reaches it."""
    for step, value in zip(steps, values, strict=True):
        if value >= threshold:
            return float(step)
    return None


def transfer_metrics(
    *,
    steps: Sequence[float],
    transfer: Sequence[float],
    scratch: Sequence[float],
    threshold: float | None = None,
    tail: int = 1,
) -> dict[str, Any]:
    """Taylor & Stone metrics of one transfer curve against one scratch curve on the same evaluation points.

    Example:
        >>> transfer_metrics(steps=[0, 10], transfer=[2, 4], scratch=[1, 3])["transfer_ratio"]
        1.5
    """
    if not (len(steps) == len(transfer) == len(scratch)) or len(steps) == 0:
        raise ConfigError(
            f"Transfer and scratch curves need the same, non-empty evaluation points; got {len(steps)} steps, "
            f"{len(transfer)} transfer and {len(scratch)} scratch values."
        )
    tail = max(1, min(tail, len(steps)))
    area_t, area_s = area_under_curve(steps, transfer), area_under_curve(steps, scratch)
    metrics: dict[str, Any] = {
        "jumpstart": float(transfer[0] - scratch[0]),
        "asymptotic": float(np.mean(transfer[-tail:]) - np.mean(scratch[-tail:])),
        "asymptotic_transfer": float(np.mean(transfer[-tail:])),
        "asymptotic_scratch": float(np.mean(scratch[-tail:])),
        "area_transfer": area_t,
        "area_scratch": area_s,
        "area_difference": area_t - area_s,
        "transfer_ratio": area_t / area_s if area_s != 0 else None,
        "area_ratio": (area_t - area_s) / abs(area_s) if area_s != 0 else None,
    }
    if threshold is not None:
        t_t, t_s = time_to_threshold(steps, transfer, threshold), time_to_threshold(steps, scratch, threshold)
        metrics["time_to_threshold_transfer"] = t_t
        metrics["time_to_threshold_scratch"] = t_s
        ratio = None
        if t_t is not None and t_s is not None:
            ratio = t_s / t_t if t_t > 0 else math.inf if t_s > 0 else 1.0
        metrics["time_to_threshold_ratio"] = ratio
    return metrics


def mean_interval(values: Sequence[float], *, confidence: float = 0.95) -> dict[str, Any]:
    """Mean with a Student-t interval over seeds; one value gives no interval (low = high = None).

    Example:
        >>> mean_interval([1.0, 2.0, 3.0])["mean"]
        2.0
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return {"mean": None, "low": None, "high": None, "n": 0}
    mean = float(np.mean(finite))
    if len(finite) < 2:
        return {"mean": mean, "low": None, "high": None, "n": 1}
    from scipy import stats

    half = float(stats.t.ppf((1 + confidence) / 2, len(finite) - 1) * np.std(finite, ddof=1) / math.sqrt(len(finite)))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": len(finite)}


def summarize_seeds(per_seed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate per-seed metrics into mean and interval, and flag negative transfer.

    Example:
        >>> s = summarize_seeds([{"area_difference": -20.0}, {"area_difference": -10.0}])
        >>> s["negative_transfer"]
        True
    """
    keys = [key for key in per_seed[0] if all(isinstance(m.get(key), (int, float, type(None))) for m in per_seed)]
    summary: dict[str, Any] = {key: mean_interval([m.get(key) for m in per_seed]) for key in keys}
    difference = summary.get("area_difference", {"mean": None, "high": None})
    times = summary.get("time_to_threshold_transfer"), summary.get("time_to_threshold_scratch")
    if times[0] and times[1] and times[0]["mean"] and times[1]["mean"] is not None:
        # Per-seed ratios are infinite when transfer starts above the threshold; the ratio of means stays finite.
        summary["time_to_threshold_ratio_of_means"] = times[1]["mean"] / times[0]["mean"]
    summary["negative_transfer"] = difference["mean"] is not None and difference["mean"] < 0
    summary["negative_transfer_confident"] = difference["high"] is not None and difference["high"] < 0
    summary["seeds"] = len(per_seed)
    return summary
