"""Evaluation: metrics on predictions (baselines and reports build on these)."""

from transferkit.evaluation.metrics import classification_metrics

__all__ = ["classification_metrics"]
