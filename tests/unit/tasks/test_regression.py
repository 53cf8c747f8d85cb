"""Regression as a task: the standardised target, MSE / Huber, metrics equal to scikit-learn's and SciPy's,
the training-mean baseline, conformal intervals from validation rows, model.json, inference and bad labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.errors import ConfigError, DataError
from transferkit.tasks import RegressionTask, get_task, infer_task, task_from_manifest, task_record

VALUES = [float(v) for v in range(10, 60)]
TRAIN = LabeledData("text", [f"house {v}" for v in VALUES], [str(v) for v in VALUES], "houses.csv")


def task() -> RegressionTask:
    return get_task("regression").from_training(TRAIN, spec=RunSpec())


def test_the_target_is_standardised_on_the_training_split():
    t = task()
    assert t.mean == pytest.approx(np.mean(VALUES)) and t.scale == pytest.approx(np.std(VALUES))
    encoded = t.training_target(spec=RunSpec(), train=TRAIN).encode(TRAIN.labels)
    assert encoded.shape == (50, 1) and float(encoded.mean()) == pytest.approx(0.0, abs=1e-6)
    assert t.values(encoded.numpy()) == pytest.approx(VALUES, rel=1e-5)


def test_mse_or_huber_loss():
    spec = RunSpec.from_dict({"optim": {"regression_loss": "huber"}})
    target = task().training_target(spec=spec, train=TRAIN)
    outputs, targets = torch.tensor([[3.0]]), torch.tensor([[0.0]])
    assert float(target.loss(outputs, targets)) == pytest.approx(2.5)  # huber, delta 1: |x| - 0.5
    assert float(task().training_target(spec=RunSpec(), train=TRAIN).loss(outputs, targets)) == pytest.approx(9.0)


def test_metrics_equal_scikit_learns_and_report_the_training_mean_baseline():
    t = RegressionTask(mean=2.0, scale=1.0)
    truth = np.array([1.0, 2.0, 3.5, 4.0, 0.5])
    predicted = np.array([1.2, 1.8, 3.0, 4.4, 1.0])
    m = t.metrics([str(v) for v in truth], (predicted - 2.0).reshape(-1, 1))
    assert m["mae"] == pytest.approx(mean_absolute_error(truth, predicted))
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(truth, predicted)))
    assert m["r2"] == pytest.approx(r2_score(truth, predicted))
    assert m["spearman"] == pytest.approx(spearmanr(truth, predicted).statistic)
    assert m["baseline"]["mae"] == pytest.approx(mean_absolute_error(truth, np.full(5, 2.0)))
    assert m["intervals"]["mae"]["low"] <= m["mae"] <= m["intervals"]["mae"]["high"]


def test_the_interval_comes_from_validation_residuals_and_predict_writes_it():
    t = task()
    valid = LabeledData("text", ["v"] * 20, [str(v) for v in range(20)], "valid")
    noisy = (np.arange(20) + np.linspace(-2, 2, 20) - t.mean) / t.scale
    t.tune(spec=RunSpec(), train=TRAIN, valid=valid, valid_proba=noisy.reshape(-1, 1))
    assert t.interval["halfwidth"] == pytest.approx(2.0, abs=0.25)
    columns = t.prediction_columns(np.array([[0.0]]))
    assert columns["high"][0] - columns["low"][0] == pytest.approx(2 * t.interval["halfwidth"])


def test_the_state_round_trips_through_model_json():
    t = task()
    t.interval = {"halfwidth": 3.0, "coverage": 0.9, "calibration_rows": 20}
    again = task_from_manifest(json.loads(json.dumps({"task": task_record(t)})))
    assert isinstance(again, RegressionTask) and again.state() == t.state()


def test_a_numeric_column_with_many_values_is_regression_and_a_rating_is_not():
    assert infer_task(TRAIN.labels, separator="|")[0] == "regression"
    assert infer_task(["1", "2", "3", "4", "5"] * 10, separator="|")[0] == "classification"


def test_a_label_that_is_not_a_finite_number_is_one_clear_error():
    bad = LabeledData("text", ["a", "b", "c"], ["1.5", "nan", "cheap"], "prices.csv")
    with pytest.raises(DataError, match=r"2 label\(s\) of prices.csv are not finite numbers \('nan', 'cheap'\)"):
        get_task("regression").from_training(bad, spec=RunSpec())


def test_splits_are_stratified_on_quantile_bins_of_the_target():
    keys = RegressionTask.split_keys(TRAIN, spec=RunSpec())
    assert len(set(keys)) == 2 and keys[0] != keys[-1]  # 50 rows: 2 bins of 25


def test_contrastive_and_classification_options_are_refused():
    with pytest.raises(ConfigError, match="contrastive"):
        task().check(spec=RunSpec.from_dict({"strategy": {"name": "contrastive"}}), train=TRAIN, valid=None)
    with pytest.raises(ConfigError, match="--class-weight"):
        task().check(spec=RunSpec.from_dict({"imbalance": {"class_weight": "balanced"}}), train=TRAIN, valid=None)
