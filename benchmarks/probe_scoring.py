"""What the imbalance and augmentation benchmarks share: a probe head trained on the training rows, judged on
the test rows by the metrics that see the minority class (balanced accuracy, its recall, macro-F1)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

from transferkit.embedding_cache import extract_features
from transferkit.strategies.probe import ProbeStrategy

METRICS = ("balanced_accuracy", "minority_recall", "macro_f1")


def probe_test_metrics(backbone, train, test, minority: str, *, spec, run_dir) -> tuple[dict, dict]:
    """(metrics, the probe's training details) for one run; the test rows never reach training."""
    head, _, details = ProbeStrategy().train_head(
        backbone=backbone, train=train, valid=None, spec=spec, run_dir=run_dir, checkpoint=False
    )
    features, _ = extract_features(backbone, test.inputs)
    with torch.no_grad():
        predicted = head(torch.as_tensor(features)).argmax(-1).numpy()
    names = train.class_names
    truth = np.array([names.index(label) for label in test.labels])
    metrics = {
        "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
        "minority_recall": float(recall_score(truth, predicted, labels=[names.index(minority)], average="macro")),
        "macro_f1": float(f1_score(truth, predicted, average="macro")),
        "weight_decay": float(details["weight_decay"]),
    }
    return metrics, details


def summarise(runs: list[dict]) -> dict:
    """Mean and standard deviation of each metric over the seeds' runs."""
    return {
        key: {
            "mean": round(float(np.mean([r[key] for r in runs])), 4),
            "std": round(float(np.std([r[key] for r in runs])), 4),
        }
        for key in METRICS
    }
