"""Evaluation: metrics and calibration, classic and from-scratch baselines with the transfer gain, reports."""

from transferkit.evaluation.baselines import ClassicBaseline, gain_summary, run_baselines, transfer_gain
from transferkit.evaluation.calibration import reliability
from transferkit.evaluation.metrics import bootstrap_interval, classification_metrics, ranking_metrics
from transferkit.evaluation.report import worst_examples, write_report, write_run_report

__all__ = [
    "ClassicBaseline",
    "bootstrap_interval",
    "classification_metrics",
    "gain_summary",
    "ranking_metrics",
    "reliability",
    "run_baselines",
    "transfer_gain",
    "worst_examples",
    "write_report",
    "write_run_report",
]
