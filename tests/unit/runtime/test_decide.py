"""The runtime's decision rules equal the task plugins' (classification threshold, multi-label cuts, regression)."""

import numpy as np

from transferkit.runtime import decisions
from transferkit.tasks import get_task


def test_classification_decisions_follow_the_tuned_threshold_like_the_task():
    proba = np.array([[0.7, 0.3], [0.4, 0.6], [0.8, 0.2]])
    state = {"class_names": ["bad", "good"], "threshold": {"class": "good", "value": 0.25}}
    task = get_task("classification").from_state(state)
    rows = decisions(proba, {"name": "classification", "state": task.state()})
    assert [row["label"] for row in rows] == task.decide(proba) == ["good", "good", "bad"]
    assert rows[0]["probabilities"] == {"bad": 0.7, "good": 0.3}


def test_multilabel_decisions_use_each_labels_threshold():
    state = {"label_names": ["a", "b", "c"], "separator": "|", "thresholds": {"thresholds": [0.5, 0.2, 0.9]}}
    task = get_task("multilabel").from_state(state)
    proba = np.array([[0.6, 0.3, 0.8], [0.1, 0.1, 0.95]])
    rows = decisions(proba, {"name": "multilabel", "state": task.state()})
    assert ["|".join(row["labels"]) for row in rows] == task.decide(proba) == ["a|b", "c"]


def test_regression_values_are_destandardised_with_the_interval():
    task = get_task("regression").from_state({"mean": 100.0, "scale": 10.0, "interval": {"halfwidth": 5.0}})
    outputs = np.array([[0.5], [-1.0]], dtype=np.float32)
    rows = decisions(outputs, {"name": "regression", "state": task.state()})
    assert [row["value"] for row in rows] == [105.0, 90.0] == task.prediction_columns(outputs)["value"].tolist()
    assert rows[1] == {"value": 90.0, "low": 85.0, "high": 95.0}


def test_a_calibrated_classifier_reports_temperature_scaled_probabilities():
    proba = np.array([[0.9, 0.1], [0.3, 0.7]])
    state = {"class_names": ["bad", "good"], "threshold": None, "temperature": 2.0}
    rows = decisions(proba, {"name": "classification", "state": state})
    scaled = np.array([[row["probabilities"]["bad"], row["probabilities"]["good"]] for row in rows])
    np.testing.assert_allclose(scaled[0], [0.75, 0.25], atol=1e-9)  # sqrt(0.9) : sqrt(0.1) renormalised
    assert [row["label"] for row in rows] == ["bad", "good"]
