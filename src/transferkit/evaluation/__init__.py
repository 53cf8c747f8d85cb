"""Evaluation: pure functions over predictions: metrics, calibration, the transfer gain, reports."""

from transferkit.evaluation.calibration import reliability
from transferkit.evaluation.gain import gain_summary, transfer_gain
from transferkit.evaluation.metrics import bootstrap_interval, classification_metrics, ranking_metrics
from transferkit.evaluation.report import worst_examples, write_report, write_run_report

__all__ = [
    "bootstrap_interval",
    "classification_metrics",
    "gain_summary",
    "ranking_metrics",
    "reliability",
    "transfer_gain",
    "worst_examples",
    "write_report",
    "write_run_report",
]
