"""The Task interface: what kind of prediction a model makes, and everything that follows from it.

A task owns the target encoding (learnt from the training labels), the `TrainingTarget` it hands the
strategy (head outputs, activation, loss), the metrics, the decision policy that turns probabilities into
predictions, the columns `predict` writes, and its lines in the report and the model card. Its state (the
label vocabulary, a tuned threshold) is stored in model.json, so a saved model rebuilds the same task.

A task is stateful: `from_training` learns it from the training split, `from_state` rebuilds it from
model.json, `tune` may refine its decision policy on validation rows (never on test rows).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.evaluation.report import Section
from transferkit.models.target import TrainingTarget


class Task(ABC):
    """One kind of prediction problem (single-label classification, multi-label, regression, ...).

    Usage (what `fit` and `predict` do with one):

        task = get_task("classification").from_training(splits.train, spec=spec)
        result = strategy.fit(..., target=task.training_target(spec=spec, train=splits.train))
        task.tune(spec=spec, train=splits.train, valid=splits.valid, valid_proba=proba)  # decision policy
        frame = task.prediction_columns(model.predict_proba(inputs))                      # what predict writes
    """

    name: ClassVar[str]

    # --- the target encoding and its state ---------------------------------------------------------
    @classmethod
    @abstractmethod
    def from_training(cls, train: LabeledData, *, spec: RunSpec) -> Task:
        """The task learnt from the training split (e.g. its label vocabulary)."""

    @classmethod
    @abstractmethod
    def from_state(cls, state: dict[str, Any]) -> Task:
        """The task `state()` saved in model.json."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """JSON-ready state that `from_state` rebuilds the task from."""

    @property
    @abstractmethod
    def output_names(self) -> list[str]:
        """The model's outputs, in column order (class names for classification)."""

    @abstractmethod
    def encode(self, labels: Sequence[str]) -> np.ndarray:
        """Targets of raw labels (class indices for classification)."""

    @abstractmethod
    def decode(self, encoded: np.ndarray) -> list[str]:
        """Labels of encoded targets or decisions: the inverse of `encode`."""

    def unknown_labels(self, labels: Sequence[str]) -> list[str]:
        """Labels in `labels` this task cannot encode (validation / test / evaluation data), sorted."""
        return []

    # --- the data, before the task is learnt (class-level: splitting comes first) --------------------
    @classmethod
    def split_keys(cls, data: LabeledData, *, spec: RunSpec) -> list[str] | None:
        """What the train / valid / test splits are stratified on, one key per row; None: the labels (classes)."""
        return None

    @classmethod
    def data_summary(cls, summary: dict[str, Any], splits: Any, *, spec: RunSpec) -> dict[str, Any]:
        """metrics.json's "data" block from the reader's summary (class counts per split) and the splits."""
        return summary

    # --- training -----------------------------------------------------------------------------------
    def check(self, *, spec: RunSpec, train: LabeledData, valid: LabeledData | None) -> None:
        """Refuse, before training, options or data this task cannot honour (naming the fix)."""
        return None  # by default every option applies

    @abstractmethod
    def training_target(self, *, spec: RunSpec, train: LabeledData) -> TrainingTarget:
        """What the strategy trains for: outputs, encoding, loss (with the run's loss options)."""

    # --- deciding and measuring ---------------------------------------------------------------------
    def tune(self, *, spec: RunSpec, train: LabeledData, valid: LabeledData | None, valid_proba: Any) -> None:
        """Fit the decision policy on validation outputs (a threshold); the default policy needs no tuning."""
        return None

    @abstractmethod
    def decide(self, proba: np.ndarray) -> list[str]:
        """Predicted labels of model outputs, by the task's decision policy."""

    @abstractmethod
    def metrics(self, labels: Sequence[str], proba: np.ndarray) -> dict[str, Any]:
        """JSON-ready metrics of outputs `proba` against true `labels`."""

    @abstractmethod
    def fit_metrics(
        self, *, spec: RunSpec, train: LabeledData, evaluated: dict[str, LabeledData], probas: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        """The task's blocks of a fit run's metrics.json: per evaluated split, and anything about the data or the
        decision policy (tuned here, on the validation outputs, before the splits are measured)."""

    @abstractmethod
    def prediction_columns(self, proba: np.ndarray) -> dict[str, Any]:
        """The columns `predict` writes after ``input`` (e.g. ``label`` and ``prob_<class>``)."""

    # --- documents ------------------------------------------------------------------------------------
    @abstractmethod
    def card_lines(self, *, metrics: dict[str, Any], spec: RunSpec, modality: str, chosen: str) -> dict[str, list[str]]:
        """Model-card lines by part: "summary", "intended_use", "metrics", and the bullets of "training_data"
        (counts per class, per label, the target's range) and "limitations" (how much data, what outputs mean)."""

    def report_sections(
        self, metrics: dict[str, Any], *, examples: list[Any], modality: str, draw: bool
    ) -> tuple[list[Section], list[Section]]:
        """The report's sections about this task's outputs: (before the training curves, after them); each a
        (title, html, markdown) triple built from metrics.json (`draw`: matplotlib figures are available)."""
        return [], []


def score_text(value: float | None) -> str:
    """A score as the report and the card show it (n/a when it is undefined on that split)."""
    return "n/a" if value is None else f"{value:.3f}"


def scored_splits(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The evaluated splits of a run's metrics, validation first: {"valid": ..., "test": ...} as present."""
    return {name: metrics[name] for name in ("valid", "test") if isinstance(metrics.get(name), dict)}
