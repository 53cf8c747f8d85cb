"""The transfer gain: transfer accuracy minus a baseline's on the same examples, with a paired bootstrap interval."""

from __future__ import annotations

from typing import Any

import numpy as np

from transferkit.evaluation.metrics import BOOTSTRAP_SAMPLES, label_indices


def transfer_gain(
    labels: list[str],
    transfer_proba: np.ndarray,
    baseline_proba: np.ndarray,
    class_names: list[str],
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """Transfer accuracy minus baseline accuracy on the same examples, with a paired bootstrap 95% interval.

    Example:
        >>> gain = transfer_gain(["a", "b"], np.eye(2), np.eye(2)[::-1], ["a", "b"])
        >>> gain["gain"], gain["negative_transfer"]
        (1.0, False)
    """
    y_true = label_indices(labels, class_names)
    difference = (np.asarray(transfer_proba).argmax(1) == y_true).astype(float) - (
        np.asarray(baseline_proba).argmax(1) == y_true
    )
    draws = np.random.default_rng(seed).integers(0, len(y_true), size=(samples, len(y_true)))
    low, high = np.percentile(difference[draws].mean(axis=1), [2.5, 97.5])
    return {
        "metric": "accuracy",
        "gain": float(difference.mean()),
        "low": float(low),
        "high": float(high),
        "negative_transfer": bool(high < 0),
        "significant": bool(low > 0 or high < 0),
    }


def gain_summary(metrics: dict[str, Any]) -> list[str]:
    """One line per baseline of a run's metrics: its accuracy, the transfer gain with its interval, the verdict.

    Example:
        >>> gain_summary({"baselines": {}})
        []
    """
    lines = []
    for name, entry in (metrics.get("baselines") or {}).items():
        if not isinstance(entry, dict):
            continue
        gain = entry["gain"]
        verdict = (
            "NEGATIVE TRANSFER" if gain["negative_transfer"] else ("helped" if gain["low"] > 0 else "no clear gain")
        )
        lines.append(
            f"{name} baseline ({entry['description']}): accuracy {entry['metrics']['accuracy']:.3f}; transfer gain "
            f"{gain['gain']:+.3f} [95% CI {gain['low']:+.3f}, {gain['high']:+.3f}]: {verdict}"
        )
    return lines
