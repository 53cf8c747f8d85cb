"""Single-label classification: one class per example, softmax outputs, argmax or a tuned binary threshold.

The label vocabulary is the training split's classes (sorted); the loss is cross-entropy or the focal loss
with optional class weights and label smoothing (`transferkit.engine.targets.SingleLabelTarget`); the
metrics are `transferkit.evaluation.classification_metrics`; `--threshold auto` tunes a binary decision
threshold on the validation rows (`transferkit.imbalance.threshold`).

Example:
    >>> task = ClassificationTask(class_names=["bad", "good"])
    >>> task.decode(task.encode(["good", "bad"]))
    ['good', 'bad']
    >>> task.decide(np.array([[0.3, 0.7]]))
    ['good']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.errors import DataError
from transferkit.evaluation.calibration import temperature_scaled
from transferkit.evaluation.metrics import class_pr_auc, classification_metrics, label_indices
from transferkit.evaluation.report import Section, classification_sections
from transferkit.imbalance.advice import imbalance_summary
from transferkit.imbalance.threshold import apply_threshold, check_threshold_option, threshold_record
from transferkit.models.target import TrainingTarget
from transferkit.strategies.options import classification_target
from transferkit.tasks.base import Task
from transferkit.tasks.registry import register_task

# The most classes a run accepts (the head, the probabilities of every evaluated row and the report grow with
# it); checked before any training. The report shows the most confused / weakest classes above a few dozen.
MAX_CLASSES = 10_000


@register_task
class ClassificationTask(Task):
    """One label per example out of the training split's classes."""

    name = "classification"

    def __init__(
        self, *, class_names: list[str], threshold: dict[str, Any] | None = None, temperature: float | None = None
    ) -> None:
        self.class_names = list(class_names)
        self.threshold = threshold  # binary tasks with --threshold auto: the tuned cut, else argmax
        self.temperature = temperature  # --calibrate: the model's log-probabilities are divided by it

    # --- the target encoding and its state ---------------------------------------------------------
    @classmethod
    def from_training(cls, train: LabeledData, *, spec: RunSpec) -> ClassificationTask:
        return cls(class_names=train.class_names)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ClassificationTask:
        return cls(
            class_names=state["class_names"], threshold=state.get("threshold"), temperature=state.get("temperature")
        )

    def state(self) -> dict[str, Any]:
        calibration = {"temperature": self.temperature} if self.temperature else {}  # folders from before: none
        return {"class_names": self.class_names, "threshold": self.threshold, **calibration}

    @property
    def output_names(self) -> list[str]:
        return self.class_names

    def encode(self, labels: Sequence[str]) -> np.ndarray:
        unknown = self.unknown_labels(labels)
        if unknown:
            raise DataError(f"Label(s) {', '.join(unknown)} are not among the classes {', '.join(self.class_names)}.")
        return label_indices(list(labels), self.class_names)

    def decode(self, encoded: np.ndarray) -> list[str]:
        return [self.class_names[int(i)] for i in np.asarray(encoded)]

    def unknown_labels(self, labels: Sequence[str]) -> list[str]:
        return sorted(set(labels) - set(self.class_names))

    # --- training -----------------------------------------------------------------------------------
    def check(self, *, spec: RunSpec, train: LabeledData, valid: LabeledData | None) -> None:
        if len(train.class_names) < 2:
            raise DataError(f"The training split of {train.source} has a single class; add examples of other classes.")
        if len(train.class_names) > MAX_CLASSES:
            raise DataError(
                f"The training split of {train.source} has {len(train.class_names):,} classes, more than the "
                f"{MAX_CLASSES:,} transferkit supports; check --label-column (an ID or free-text column has a class "
                "per row) or group rare labels."
            )
        check_threshold_option(spec.imbalance.threshold, num_classes=len(self.class_names), has_valid=bool(valid))

    def training_target(self, *, spec: RunSpec, train: LabeledData) -> TrainingTarget:
        return classification_target(spec, train)

    # --- calibration -----------------------------------------------------------------------------------
    def calibrate(self, temperature: float) -> None:
        """From now on the model's probabilities are temperature-scaled; a tuned binary threshold moves to the same
        scale, so every decision stays what it was (the scaling is monotone in each row)."""
        if self.threshold:
            column = self.class_names.index(self.threshold["class"])
            cut = np.zeros((1, 2))
            cut[0, column], cut[0, 1 - column] = self.threshold["value"], 1 - self.threshold["value"]
            value = float(temperature_scaled(cut, temperature)[0, column])
            self.threshold = {**self.threshold, "value": round(value, 6), "calibrated": True}
        self.temperature = float(temperature)

    def calibrated(self, proba: np.ndarray) -> np.ndarray:
        """The model's probabilities as this task reports them (temperature-scaled once calibrated)."""
        proba = np.asarray(proba)
        return proba if not self.temperature else temperature_scaled(proba, self.temperature)

    # --- deciding and measuring ---------------------------------------------------------------------
    def tune(self, *, spec: RunSpec, train: LabeledData, valid: LabeledData | None, valid_proba: Any) -> None:
        if spec.imbalance.threshold == "auto" and valid is not None:  # tuned on validation rows; test only measures
            self.threshold = threshold_record(self.class_names, train.class_counts, valid.labels or [], valid_proba)

    def decide_indices(self, proba: np.ndarray) -> np.ndarray:
        """Predicted class indices: the tuned threshold where there is one, else the most probable class."""
        return apply_threshold(self.calibrated(proba), self.class_names, self.threshold)

    def decide(self, proba: np.ndarray) -> list[str]:
        return self.decode(self.decide_indices(proba))

    def metrics(self, labels: Sequence[str], proba: np.ndarray) -> dict[str, Any]:
        proba = self.calibrated(proba)
        return classification_metrics(list(labels), proba, self.class_names, threshold=self.threshold)

    def fit_metrics(
        self, *, spec: RunSpec, train: LabeledData, evaluated: dict[str, LabeledData], probas: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        blocks: dict[str, Any] = {"imbalance": imbalance_summary(train.class_counts, spec.imbalance)}
        self.tune(spec=spec, train=train, valid=evaluated.get("valid"), valid_proba=probas.get("valid"))
        if self.threshold:
            blocks["threshold"] = self.threshold
        for split_name, split in evaluated.items():
            blocks[split_name] = self.metrics(split.labels or [], probas[split_name])
            if len(self.class_names) == 2:  # binary: the minority class's PR-AUC, whichever column it is
                minority = blocks["imbalance"]["minority_class"]
                blocks[split_name]["minority_pr_auc"] = class_pr_auc(
                    split.labels, probas[split_name], self.class_names, minority
                )
        return blocks

    def prediction_columns(self, proba: np.ndarray) -> dict[str, Any]:
        columns: dict[str, Any] = {"label": self.decide(proba)}
        proba = self.calibrated(proba)
        for position, name in enumerate(self.class_names):
            columns[f"prob_{name}"] = proba[:, position]
        return columns

    # --- documents ------------------------------------------------------------------------------------
    def card_lines(self, *, metrics: dict[str, Any], spec: RunSpec, modality: str, chosen: str) -> dict[str, list[str]]:
        names = self.class_names
        table = [
            "| split | examples | accuracy | balanced accuracy | macro-F1 | majority rate |",
            "|---|---|---|---|---|---|",
        ]
        table += [line for line in (_card_split_line(s, metrics.get(s)) for s in ("valid", "test")) if line]
        return {
            "summary": [f"A {len(names)}-class classifier ({', '.join(names)}) trained with transferkit: {chosen}"],
            "intended_use": [
                f"Classifying {modality} inputs like those of the training data ({spec.data.path}) into these classes."
            ],
            "metrics": table,
            **_card_data_lines(metrics.get("data") or {}, temperature=self.temperature),
        }

    def report_sections(
        self, metrics: dict[str, Any], *, examples: list[Any], modality: str, draw: bool
    ) -> tuple[list[Section], list[Section]]:
        return classification_sections(metrics, examples=examples, modality=modality, draw=draw)


def _card_data_lines(data: dict[str, Any], *, temperature: float | None) -> dict[str, list[str]]:
    counts = data.get("class_counts") or {}
    train_counts = (data.get("splits") or {}).get("train") or counts
    smallest = min(train_counts.values()) if train_counts else 0
    return {
        "training_data": [f"- Class counts: {', '.join(f'{k}: {v}' for k, v in counts.items()) or 'n/a'}"],
        "limitations": [
            f"- Trained on {sum(train_counts.values())} labelled examples (smallest class: {smallest}); metrics on "
            "small test sets are uncertain (see the interval above).",
            (
                f"- Probabilities are temperature-scaled (T = {temperature:.3g}, fitted on the validation split) for "
                "data like the training data"
                if temperature
                else "- Probabilities are those of the model on data like its training data"
            )
            + "; under a shift of inputs or of class proportions they are not calibrated. Check `transferkit "
            "evaluate` on your own labelled data.",
        ],
    }


def _card_split_line(name: str, entry: dict[str, Any] | None) -> str | None:
    if not entry:
        return None
    interval = entry.get("interval") or {}
    ci = f" (95% CI {interval['low']:.3f}-{interval['high']:.3f})" if "low" in interval else ""
    return (
        f"| {name} | {entry['num_examples']} | {entry['accuracy']:.3f}{ci} | {entry['balanced_accuracy']:.3f} | "
        f"{entry['macro_f1']:.3f} | {entry['majority_rate']:.3f} |"
    )
