"""Summaries shared by the peer comparisons (vs_fastai.py, vs_setfit.py): mean and spread per arm and size,
and each of our arms against the peer's accuracy and time targets."""

from __future__ import annotations

import os

import numpy as np


def _stats(values: np.ndarray, digits: int) -> tuple[float, float | None]:
    return round(float(values.mean()), digits), round(float(values.std(ddof=1)), digits) if len(values) > 1 else None


def summarise_against_peer(
    rows: list[dict],
    per_class: list[int],
    arms: tuple[str, ...],
    *,
    peer: str,
    name: str,
    time_factor: int,
    time_label: str,
) -> dict:
    """Per examples-per-class size and arm: seeds, accuracy and seconds (mean, std); then, for each of our arms,
    whether it reaches the peer's mean accuracy and costs at most 1/time_factor of its mean time."""
    summary: dict = {}
    for k in per_class:
        stats: dict = {}
        for arm in arms:
            picked = [row for row in rows if row["per_class"] == k and row["arm"] == arm]
            if not picked:
                continue
            accuracy_mean, accuracy_std = _stats(np.array([row["accuracy"] for row in picked]), 4)
            seconds_mean, seconds_std = _stats(np.array([row["seconds"] for row in picked]), 1)
            stats[arm] = {
                "seeds": len(picked),
                "accuracy_mean": accuracy_mean,
                "accuracy_std": accuracy_std,
                "seconds_mean": seconds_mean,
                "seconds_std": seconds_std,
            }
        reference = stats.get(peer)
        for arm in arms:
            if arm == peer or not reference or arm not in stats:
                continue
            ours = stats[arm]
            ours[f"target_accuracy_at_least_{name}"] = ours["accuracy_mean"] >= reference["accuracy_mean"]
            ours[f"time_ratio_vs_{name}"] = round(ours["seconds_mean"] / reference["seconds_mean"], 3)
            ours[f"target_time_at_most_{time_label}"] = ours["seconds_mean"] * time_factor <= reference["seconds_mean"]
            ours["target_met"] = ours[f"target_accuracy_at_least_{name}"] and ours[f"target_time_at_most_{time_label}"]
        summary[str(k)] = stats
    return summary


def arm_row(*, per_class: int, seed: int, arm: str, outcome: dict) -> dict:
    """One run of a peer benchmark as its results file records it (accuracy, training seconds, 1-minute load)."""
    return {
        "per_class": per_class,
        "seed": seed,
        "arm": arm,
        "accuracy": round(outcome["accuracy"], 4),
        "seconds": round(outcome["seconds"], 2),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }
