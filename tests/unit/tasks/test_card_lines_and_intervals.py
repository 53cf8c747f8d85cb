"""Issue 23's gaps: the model card's data and limitation lines come from the task (no "smallest class" for a
regressor or a multi-label model), and regression metrics give Spearman a bootstrap interval too."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from transferkit.config import RunSpec
from transferkit.evaluation.regression import regression_metrics
from transferkit.model_card import model_card
from transferkit.tasks import MultiLabelTask, RegressionTask

SPEC = RunSpec.from_dict({"data": {"path": "ames.csv", "label_column": "price"}, "run": {"name": "r"}})


def test_a_regressors_card_states_the_target_range_not_a_smallest_class():
    metrics = {
        "data": {
            "splits": {"train": {"examples": 560}},
            "target": {"mean": 180000.0, "std": 79000.0, "min": 35000.0, "median": 160000.0, "max": 755000.0},
        }
    }
    card = model_card(metrics=metrics, spec=SPEC, task=RegressionTask(mean=1.0, scale=1.0), modality="tabular")
    assert "smallest class" not in card and "Class counts" not in card
    assert "Target 'price' in the training split: from 3.5e+04 to 7.55e+05" in card
    assert "Trained on 560 labelled examples; values outside the training range are extrapolations" in card


def test_a_multilabel_card_names_its_rarest_label():
    metrics = {
        "data": {"splits": {"train": {"examples": 840}}},
        "labels": {"label_counts": {"Comedy": 300, "Drama": 420, "War": 12}},
    }
    task = MultiLabelTask(label_names=["Comedy", "Drama", "War"])
    card = model_card(metrics=metrics, spec=SPEC, task=task, modality="text")
    assert "smallest class" not in card and "Training examples per label: Comedy: 300, Drama: 420, War: 12" in card
    assert "Trained on 840 labelled examples; the rarest label, War, has 12 training example(s)" in card


def test_spearman_has_a_bootstrap_interval_around_scipys_value():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=60)
    predicted = truth + rng.normal(scale=0.8, size=60)
    metrics = regression_metrics(truth, predicted, train_mean=0.0)
    interval = metrics["intervals"]["spearman"]
    assert metrics["spearman"] == spearmanr(truth, predicted).statistic
    assert interval["low"] < metrics["spearman"] < interval["high"] <= 1.0


def test_no_spearman_interval_where_resamples_have_no_ranks():
    metrics = regression_metrics(np.array([1.0, 1.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0, 4.0]), train_mean=1.0)
    assert "spearman" not in metrics["intervals"] and "mae" in metrics["intervals"]
