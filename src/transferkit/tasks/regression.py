"""Regression: a number per example, from a numeric label column.

The target is standardised with the training split's mean and standard deviation (stored in model.json, so
a saved model predicts in the original units); the loss is MSE or Huber (`--regression-loss`); the probe fits
a cross-validated ridge on the cached embeddings. Validation residuals give a split-conformal interval that
`predict` writes around each value (`transferkit.evaluation.regression.conformal_halfwidth`).

Example:
    >>> task = RegressionTask(mean=100.0, scale=10.0)
    >>> task.values(np.array([[0.5], [-1.0]])).tolist()
    [105.0, 90.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.data.labels import as_number
from transferkit.engine.targets import RegressionTarget
from transferkit.errors import ConfigError, DataError
from transferkit.evaluation.regression import (
    CONFORMAL_COVERAGE,
    conformal_halfwidth,
    interval_coverage,
    regression_metrics,
)
from transferkit.evaluation.report import Section, table_section
from transferkit.models.target import TrainingTarget
from transferkit.tasks.base import Task, score_text, scored_splits
from transferkit.tasks.checks import refuse_classification_options, refuse_non_finite
from transferkit.tasks.registry import register_task

MAX_SPLIT_BINS = 5  # splits are stratified on quantile bins of the target
ROWS_PER_BIN = 20


def numbers_of(labels: Sequence[str], *, source: str) -> np.ndarray:
    """The labels as floats; one clear error naming the file and the first bad cells when one is not a number."""
    values = [as_number(label) for label in labels]
    bad = [label for label, value in zip(labels, values, strict=True) if value is None]
    if bad:
        raise DataError(
            f"{len(bad)} label(s) of {source} are not finite numbers ({', '.join(map(repr, bad[:3]))}); regression "
            "needs a number in every label cell. Fix or remove those rows, or pass --task classification."
        )
    return np.asarray(values, dtype=np.float64)


@register_task
class RegressionTask(Task):
    """One number per example, predicted in the label column's units."""

    name = "regression"

    def __init__(self, *, mean: float, scale: float, interval: dict[str, float] | None = None) -> None:
        self.mean = float(mean)
        self.scale = float(scale)
        self.interval = interval  # {"halfwidth", "coverage"} from validation residuals, else None

    # --- the target encoding and its state ---------------------------------------------------------
    @classmethod
    def from_training(cls, train: LabeledData, *, spec: RunSpec) -> RegressionTask:
        values = numbers_of(train.labels or [], source=train.source)
        scale = float(values.std())
        return cls(mean=float(values.mean()), scale=scale if scale > 0 else 1.0)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RegressionTask:
        return cls(mean=state["mean"], scale=state["scale"], interval=state.get("interval"))

    def state(self) -> dict[str, Any]:
        return {"mean": self.mean, "scale": self.scale, "interval": self.interval}

    @property
    def output_names(self) -> list[str]:
        return ["value"]

    def encode(self, labels: Sequence[str]) -> np.ndarray:
        return numbers_of(labels, source="the labels")

    def decode(self, encoded: np.ndarray) -> list[str]:
        return [f"{value:.6g}" for value in np.asarray(encoded, dtype=np.float64).ravel()]

    def values(self, outputs: np.ndarray) -> np.ndarray:
        """Predicted values in the label's units from the model's (standardised) outputs."""
        return np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)[:, 0] * self.scale + self.mean

    @classmethod
    def split_keys(cls, data: LabeledData, *, spec: RunSpec) -> list[str] | None:
        refuse_non_finite(data, spec=spec)  # every row, before the split: name the bad cells and their rows
        values = numbers_of(data.labels or [], source=data.source)
        bins = max(1, min(MAX_SPLIT_BINS, len(values) // ROWS_PER_BIN))
        if bins < 2:
            return ["all"] * len(values)
        codes = pd.qcut(values, q=bins, labels=False, duplicates="drop")
        return [f"q{int(code)}" for code in codes]

    @classmethod
    def data_summary(cls, summary: dict[str, Any], splits: Any, *, spec: RunSpec) -> dict[str, Any]:
        parts = {name: getattr(splits, name) for name in ("train", "valid", "test") if getattr(splits, name)}
        train = numbers_of(splits.train.labels or [], source=splits.train.source)
        target = {"mean": float(train.mean()), "std": float(train.std()), "min": float(train.min())}
        target |= {"median": float(np.median(train)), "max": float(train.max())}
        rest = {key: value for key, value in summary.items() if key not in ("class_counts", "imbalance_ratio")}
        return rest | {
            "target": {key: round(value, 6) for key, value in target.items()},
            "splits": {name: {"examples": len(part)} for name, part in parts.items()},
            "split_note": f"stratified on up to {MAX_SPLIT_BINS} quantile bins of the target",
        }

    # --- training -----------------------------------------------------------------------------------
    def check(self, *, spec: RunSpec, train: LabeledData, valid: LabeledData | None) -> None:
        if len(set(train.labels or [])) < 2:
            raise DataError(f"Every label of {train.source}'s training split is the same number; nothing to learn.")
        if spec.strategy.name == "contrastive":
            raise ConfigError(
                "The contrastive strategy pulls together examples of one class; a number has none. "
                "Use --strategy probe, two-stage, finetune or lora for --task regression."
            )
        refuse_classification_options(spec, task=self.name, also={"--monitor val_accuracy": _watches_accuracy(spec)})
        for split in (valid,):
            if split is not None:
                numbers_of(split.labels or [], source=split.source)

    def training_target(self, *, spec: RunSpec, train: LabeledData) -> TrainingTarget:
        return RegressionTarget(mean=self.mean, scale=self.scale, loss_name=spec.optim.regression_loss)

    # --- deciding and measuring ---------------------------------------------------------------------
    def tune(self, *, spec: RunSpec, train: LabeledData, valid: LabeledData | None, valid_proba: Any) -> None:
        if valid is not None and valid_proba is not None and len(valid) >= 10:  # validation rows; test only measures
            truth, predicted = self.encode(valid.labels or []), self.values(valid_proba)
            width = conformal_halfwidth(truth, predicted, coverage=CONFORMAL_COVERAGE)
            self.interval = {"halfwidth": width, "coverage": CONFORMAL_COVERAGE, "calibration_rows": len(valid)}

    def decide(self, proba: np.ndarray) -> list[str]:
        return self.decode(self.values(proba))

    def metrics(self, labels: Sequence[str], proba: np.ndarray) -> dict[str, Any]:
        truth, predicted = self.encode(labels), self.values(proba)
        metrics = regression_metrics(truth, predicted, train_mean=self.mean)
        if self.interval:
            metrics["interval_coverage"] = interval_coverage(truth, predicted, self.interval["halfwidth"])
        return metrics

    def fit_metrics(
        self, *, spec: RunSpec, train: LabeledData, evaluated: dict[str, LabeledData], probas: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        self.tune(spec=spec, train=train, valid=evaluated.get("valid"), valid_proba=probas.get("valid"))
        blocks: dict[str, Any] = {
            "target": {"mean": self.mean, "scale": self.scale, "loss": spec.optim.regression_loss}
        }
        if self.interval:
            blocks["interval"] = self.interval
        for split_name, split in evaluated.items():
            blocks[split_name] = self.metrics(split.labels or [], probas[split_name])
        return blocks

    def prediction_columns(self, proba: np.ndarray) -> dict[str, Any]:
        values = self.values(proba)
        columns: dict[str, Any] = {"value": values}
        if self.interval:
            columns["low"] = values - self.interval["halfwidth"]
            columns["high"] = values + self.interval["halfwidth"]
        return columns

    # --- documents ------------------------------------------------------------------------------------
    def card_lines(self, *, metrics: dict[str, Any], spec: RunSpec, modality: str, chosen: str) -> dict[str, list[str]]:
        table = [
            "| split | examples | MAE | RMSE | R² | Spearman | MAE of the training mean |",
            "|---|---|---|---|---|---|---|",
        ]
        for split in ("valid", "test"):
            entry = metrics.get(split)
            if entry:
                table.append(
                    f"| {split} | {entry['num_examples']} | {entry['mae']:.4g} | {entry['rmse']:.4g} | "
                    f"{score_text(entry['r2'])} | {score_text(entry['spearman'])} | {entry['baseline']['mae']:.4g} |"
                )
        return {
            "summary": [f"A regressor of '{spec.data.label_column}' trained with transferkit: {chosen}"],
            "intended_use": [
                f"Estimating '{spec.data.label_column}' for {modality} inputs like those of the training data "
                f"({spec.data.path}), within the training range ({metrics.get('data', {}).get('target', {})})."
            ],
            "metrics": table,
            **_card_data_lines(metrics, label=spec.data.label_column),
        }

    def report_sections(
        self, metrics: dict[str, Any], *, examples: list[Any], modality: str, draw: bool
    ) -> tuple[list[Section], list[Section]]:
        return [section for section in (_scores_section(metrics),) if section], []


def _card_data_lines(metrics: dict[str, Any], *, label: str) -> dict[str, list[str]]:
    data = metrics.get("data") or {}
    target = data.get("target") or {}
    examples = (data.get("splits") or {}).get("train", {}).get("examples", "n/a")
    spread = (
        f"from {target['min']:.4g} to {target['max']:.4g} (mean {target['mean']:.4g}, std {target['std']:.4g})"
        if target
        else "n/a"
    )
    return {
        "training_data": [f"- Target '{label}' in the training split: {spread}"],
        "limitations": [
            f"- Trained on {examples} labelled examples; values outside the training range are extrapolations, and "
            "metrics on small test sets are uncertain (see the intervals above).",
            "- The prediction interval holds its coverage for inputs like the validation rows it was calibrated on; "
            "under a shift of inputs it does not. Check `transferkit evaluate` on your own labelled data.",
        ],
    }


def _watches_accuracy(spec: RunSpec) -> bool:
    return spec.optim.monitor == "val_accuracy" and bool(spec.optim.early_stopping or spec.optim.schedule == "plateau")


def _scores_section(metrics: dict[str, Any]) -> Section | None:
    splits = scored_splits(metrics)
    if not splits:
        return None

    def cell(entry: dict[str, Any], key: str) -> str:
        interval = (entry.get("intervals") or {}).get(key)
        value = entry.get(key)
        if value is None:
            return "n/a"
        return f"{value:.4g}" + (f" [{interval['low']:.4g}, {interval['high']:.4g}]" if interval else "")

    rows = [
        [label, *(cell(e, key) for e in splits.values())]
        for key, label in (("mae", "MAE"), ("rmse", "RMSE"), ("r2", "R²"), ("spearman", "Spearman"))
    ]
    rows += [
        [f"{label}, training mean (baseline)", *(f"{e['baseline'][key]:.4g}" for e in splits.values())]
        for key, label in (("mae", "MAE"), ("rmse", "RMSE"))
    ]
    interval = metrics.get("interval")
    note = "Brackets: 95% bootstrap intervals."
    if interval:
        rows.append(["interval coverage", *(score_text(e.get("interval_coverage")) for e in splits.values())])
        note += (
            f" Prediction intervals: ± {interval['halfwidth']:.4g} (split-conformal on {interval['calibration_rows']} "
            f"validation rows, {interval['coverage']:.0%} target coverage)."
        )
    return table_section("Regression metrics", ["metric", *splits], rows, note=note)
