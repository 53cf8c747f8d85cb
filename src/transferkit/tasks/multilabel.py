"""Multi-label classification: any number of labels per example (``Drama|Comedy``), one sigmoid per label.

The label vocabulary is every label of the training split; the loss is binary cross-entropy with a positive
weight per label that lifts rare labels (`transferkit.engine.targets.MultiLabelTarget`); each label's decision
threshold is tuned on the validation rows (never the test rows), and labels with too few validation positives
keep one global threshold (`transferkit.evaluation.multilabel.tune_thresholds`).

Example:
    >>> task = MultiLabelTask(label_names=["comedy", "drama", "war"])
    >>> task.encode(["drama|war"]).tolist()
    [[0, 1, 1]]
    >>> task.decide(np.array([[0.9, 0.2, 0.6]]))
    ['comedy|war']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.data.labels import join_label_set, split_label_set
from transferkit.engine.targets import MultiLabelTarget
from transferkit.errors import DataError
from transferkit.evaluation.multilabel import (
    label_set_baselines,
    label_statistics,
    multilabel_metrics,
    tune_thresholds,
)
from transferkit.evaluation.report import Section, table_section
from transferkit.models.target import TrainingTarget
from transferkit.tasks.base import Task, score_text, scored_splits
from transferkit.tasks.checks import refuse_classification_options, refuse_labels_seen_once
from transferkit.tasks.registry import register_task

DEFAULT_THRESHOLD = 0.5
MAX_POSITIVE_WEIGHT = 10.0
SPLIT_NOTE = "multi-label rows are split at random (stratifying on label sets would leave most sets alone)"


@register_task
class MultiLabelTask(Task):
    """Any subset of the training split's labels per example."""

    name = "multilabel"

    def __init__(
        self, *, label_names: list[str], separator: str = "|", thresholds: dict[str, Any] | None = None
    ) -> None:
        self.label_names = list(label_names)
        self.separator = separator
        self.thresholds = thresholds  # tune_thresholds' record; None: DEFAULT_THRESHOLD for every label

    # --- the target encoding and its state ---------------------------------------------------------
    @classmethod
    def from_training(cls, train: LabeledData, *, spec: RunSpec) -> MultiLabelTask:
        sep = spec.data.label_separator
        names = sorted({name for cell in train.labels or [] for name in split_label_set(cell, sep)})
        return cls(label_names=names, separator=sep)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MultiLabelTask:
        return cls(label_names=state["label_names"], separator=state["separator"], thresholds=state.get("thresholds"))

    def state(self) -> dict[str, Any]:
        return {"label_names": self.label_names, "separator": self.separator, "thresholds": self.thresholds}

    @property
    def output_names(self) -> list[str]:
        return self.label_names

    def encode(self, labels: Sequence[str]) -> np.ndarray:
        index = {name: position for position, name in enumerate(self.label_names)}
        rows = np.zeros((len(labels), len(self.label_names)), dtype=np.int64)
        for row, cell in enumerate(labels):
            for name in split_label_set(cell, self.separator):
                if name in index:
                    rows[row, index[name]] = 1
        return rows

    def decode(self, encoded: np.ndarray) -> list[str]:
        return [join_label_set([self.label_names[i] for i in np.flatnonzero(row)], self.separator) for row in encoded]

    def unknown_labels(self, labels: Sequence[str]) -> list[str]:
        known = set(self.label_names)
        return sorted({name for cell in labels for name in split_label_set(cell, self.separator)} - known)

    @classmethod
    def split_keys(cls, data: LabeledData, *, spec: RunSpec) -> list[str] | None:
        # every row, before the split: a label in one row can be trained on or measured, not both
        names = [split_label_set(cell, spec.data.label_separator) for cell in data.labels or []]
        refuse_labels_seen_once(data, names, spec=spec)
        return ["all"] * len(data)  # one key: a random split (see SPLIT_NOTE)

    @classmethod
    def data_summary(cls, summary: dict[str, Any], splits: Any, *, spec: RunSpec) -> dict[str, Any]:
        parts = {name: getattr(splits, name) for name in ("train", "valid", "test") if getattr(splits, name)}
        counts: dict[str, int] = {}
        for part in parts.values():
            for cell in part.labels or []:
                for name in split_label_set(cell, spec.data.label_separator):
                    counts[name] = counts.get(name, 0) + 1
        counts = dict(sorted(counts.items()))
        ratio = max(counts.values()) / min(counts.values()) if counts else float("nan")
        return summary | {
            "class_counts": counts,  # examples per label
            "imbalance_ratio": round(ratio, 3),
            "splits": {name: {"examples": len(part)} for name, part in parts.items()},
            "split_note": SPLIT_NOTE,
        }

    # --- training -----------------------------------------------------------------------------------
    def check(self, *, spec: RunSpec, train: LabeledData, valid: LabeledData | None) -> None:
        if len(self.label_names) < 2:
            raise DataError(
                f"The training split of {train.source} has {len(self.label_names)} label(s); multi-label needs at "
                f"least two. Check --label-column and --label-separator ('{self.separator}')."
            )
        refuse_classification_options(spec, task=self.name)

    def positive_weights(self, train: LabeledData) -> list[float]:
        """Per label, sqrt(negatives / positives) within [1, MAX_POSITIVE_WEIGHT]: a rare label's positives
        count more, damped so that a label seen a handful of times does not swamp the loss."""
        positives = self.encode(train.labels or []).sum(axis=0)
        total = len(train)
        return [float(min(MAX_POSITIVE_WEIGHT, max(1.0, math.sqrt((total - p) / p)))) if p else 1.0 for p in positives]

    def training_target(self, *, spec: RunSpec, train: LabeledData) -> TrainingTarget:
        return MultiLabelTarget(
            output_names=self.label_names, separator=self.separator, positive_weights=self.positive_weights(train)
        )

    # --- deciding and measuring ---------------------------------------------------------------------
    def tune(self, *, spec: RunSpec, train: LabeledData, valid: LabeledData | None, valid_proba: Any) -> None:
        if valid is not None and valid_proba is not None and len(valid):  # validation rows only; test only measures
            self.thresholds = tune_thresholds(self.encode(valid.labels or []), np.asarray(valid_proba))

    def cuts(self) -> np.ndarray:
        """The decision threshold of each label."""
        if not self.thresholds:
            return np.full(len(self.label_names), DEFAULT_THRESHOLD)
        return np.asarray(self.thresholds["thresholds"], dtype=np.float64)

    def decide(self, proba: np.ndarray) -> list[str]:
        return self.decode((np.asarray(proba) >= self.cuts()).astype(np.int64))

    def metrics(self, labels: Sequence[str], proba: np.ndarray) -> dict[str, Any]:
        metrics = multilabel_metrics(self.encode(labels), np.asarray(proba), self.cuts(), self.label_names)
        unknown = self.unknown_labels(labels)
        return metrics | ({"unknown_labels": unknown} if unknown else {})

    def fit_metrics(
        self, *, spec: RunSpec, train: LabeledData, evaluated: dict[str, LabeledData], probas: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        self.tune(spec=spec, train=train, valid=evaluated.get("valid"), valid_proba=probas.get("valid"))
        train_rows = self.encode(train.labels or [])
        blocks: dict[str, Any] = {
            "labels": label_statistics(train_rows, self.label_names),
            "thresholds": self.thresholds
            or {"thresholds": self.cuts().tolist(), "global": DEFAULT_THRESHOLD, "tuned_labels": 0},
            "loss": {"name": "binary cross-entropy", "positive_weights": self.positive_weights(train)},
        }
        for split_name, split in evaluated.items():
            blocks[split_name] = self.metrics(split.labels or [], probas[split_name])
            blocks[split_name]["baselines"] = label_set_baselines(self.encode(split.labels or []), train_rows)
        return blocks

    def prediction_columns(self, proba: np.ndarray) -> dict[str, Any]:
        columns: dict[str, Any] = {"labels": self.decide(proba)}
        for position, name in enumerate(self.label_names):
            columns[f"prob_{name}"] = proba[:, position]
        return columns

    # --- documents ------------------------------------------------------------------------------------
    def card_lines(self, *, metrics: dict[str, Any], spec: RunSpec, modality: str, chosen: str) -> dict[str, list[str]]:
        table = [
            "| split | examples | micro-F1 | macro-F1 | samples-F1 | mAP | subset accuracy | frequent-set micro-F1 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for split in ("valid", "test"):
            entry = metrics.get(split)
            if entry:
                table.append(
                    f"| {split} | {entry['num_examples']} | {entry['micro_f1']:.3f} | {entry['macro_f1']:.3f} | "
                    f"{entry['samples_f1']:.3f} | {score_text(entry['mean_average_precision'])} | "
                    f"{entry['subset_accuracy']:.3f} | {entry['baselines']['frequent_set_micro_f1']:.3f} |"
                )
        return {
            "summary": [
                f"A multi-label classifier over {len(self.label_names)} labels ({', '.join(self.label_names[:8])}"
                f"{', ...' if len(self.label_names) > 8 else ''}) trained with transferkit: {chosen}"
            ],
            "intended_use": [
                f"Tagging {modality} inputs like those of the training data ({spec.data.path}) with any of these "
                "labels (a threshold per label, tuned on the validation split)."
            ],
            "metrics": table,
            **_card_data_lines(metrics),
        }

    def report_sections(
        self, metrics: dict[str, Any], *, examples: list[Any], modality: str, draw: bool
    ) -> tuple[list[Section], list[Section]]:
        overview = [section for section in (_scores_section(metrics),) if section]
        details = [section for section in (_per_label_section(metrics), _cooccurrence_section(metrics)) if section]
        return overview, details


SCORE_ROWS = [
    ("micro_f1", "micro-F1"),
    ("macro_f1", "macro-F1"),
    ("samples_f1", "samples-F1"),
    ("mean_average_precision", "mean average precision"),
    ("subset_accuracy", "subset accuracy"),
    ("hamming_loss", "Hamming loss"),
]


def _card_data_lines(metrics: dict[str, Any]) -> dict[str, list[str]]:
    counts = (metrics.get("labels") or {}).get("label_counts") or {}  # training split, examples per label
    examples = ((metrics.get("data") or {}).get("splits") or {}).get("train", {}).get("examples", "n/a")
    rarest = min(counts, key=counts.get) if counts else None
    rare = f"; the rarest label, {rarest}, has {counts[rarest]} training example(s)" if rarest else ""
    return {
        "training_data": [
            f"- Training examples per label: {', '.join(f'{k}: {v}' for k, v in counts.items()) or 'n/a'}"
        ],
        "limitations": [
            f"- Trained on {examples} labelled examples{rare}; a label with few examples has an uncertain "
            "threshold and score (see its row in the report).",
            "- Each label's probability is the model's on data like its training data; under a shift of inputs or "
            "of label frequencies the tuned thresholds no longer hold. Check `transferkit evaluate` on your own data.",
        ],
    }


def _scores_section(metrics: dict[str, Any]) -> Section | None:
    splits = scored_splits(metrics)
    if not splits:
        return None
    rows = [[label, *(entry.get(key) for entry in splits.values())] for key, label in SCORE_ROWS]
    rows += [
        ["micro-F1, no label (baseline)", *(e["baselines"]["all_negative_micro_f1"] for e in splits.values())],
        [
            "micro-F1, most frequent label set (baseline)",
            *(e["baselines"]["frequent_set_micro_f1"] for e in splits.values()),
        ],
        ["labels per example (true)", *(e["label_cardinality"]["true"] for e in splits.values())],
        ["labels per example (predicted)", *(e["label_cardinality"]["predicted"] for e in splits.values())],
    ]
    thresholds = metrics.get("thresholds") or {}
    note = (
        f"Per-label thresholds tuned on the validation split for {thresholds.get('tuned_labels', 0)} label(s); the "
        f"others use the global threshold {thresholds.get('global', DEFAULT_THRESHOLD)}."
    )
    return table_section("Multi-label metrics", ["metric", *splits], rows, note=note)


def _per_label_section(metrics: dict[str, Any]) -> Section | None:
    name, entry = next(reversed(scored_splits(metrics).items()), (None, None))  # test when there is one
    if not entry:
        return None
    cuts = dict(zip(entry["per_label"], (metrics.get("thresholds") or {}).get("thresholds") or [], strict=False))
    rows = [
        [label, row["precision"], row["recall"], row["f1"], row["support"], cuts.get(label)]
        for label, row in entry["per_label"].items()
    ]
    return table_section(f"Per label ({name})", ["label", "precision", "recall", "F1", "support", "threshold"], rows)


def _cooccurrence_section(metrics: dict[str, Any]) -> Section | None:
    stats = metrics.get("labels")
    if not stats:
        return None
    rows = [[" + ".join(pair["labels"]), pair["examples"]] for pair in stats["top_pairs"]]
    note = (
        f"Training split: {stats['cardinality']:.2f} labels per example on average (density {stats['density']:.3f}); "
        f"{stats['examples_without_label']} example(s) without any label."
    )
    return table_section("Label co-occurrence (training split)", ["labels together", "examples"], rows, note=note)
