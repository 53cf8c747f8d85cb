"""Metrics equal scikit-learn's on fixed predictions; calibration and bootstrap behave as defined."""

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize

from transferkit.evaluation import bootstrap_interval, classification_metrics, reliability


@pytest.fixture(scope="module")
def three_class():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    proba = rng.dirichlet([1, 1, 1], size=300)
    proba[np.arange(300), y] += 0.6  # informative but imperfect
    proba /= proba.sum(axis=1, keepdims=True)
    names = ["ant", "bee", "cat"]
    return [names[i] for i in y], y, proba, names


def test_multiclass_metrics_equal_sklearn(three_class):
    labels, y, proba, names = three_class
    m = classification_metrics(labels, proba, names)
    pred = proba.argmax(1)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["weighted_f1"] == pytest.approx(f1_score(y, pred, average="weighted"))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert m["pr_auc"] == pytest.approx(average_precision_score(label_binarize(y, classes=[0, 1, 2]), proba))
    assert m["log_loss"] == pytest.approx(log_loss(y, proba))
    assert m["per_class"]["bee"]["support"] == int((y == 1).sum())
    assert np.trace(np.array(m["confusion_matrix"]["matrix"])) == int((pred == y).sum())


def test_binary_auc_uses_the_second_class_as_positive():
    y = np.array([0, 0, 1, 1, 1, 0])
    score = np.array([0.1, 0.6, 0.35, 0.8, 0.9, 0.2])
    proba = np.column_stack([1 - score, score])
    m = classification_metrics([["neg", "pos"][i] for i in y], proba, ["neg", "pos"])
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, score))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, score))
    assert m["roc_auc"] != pytest.approx(roc_auc_score(1 - y, score))  # the orientation matters


def test_auc_is_undefined_when_only_one_class_is_present():
    m = classification_metrics(["a", "a"], np.array([[0.7, 0.3], [0.4, 0.6]]), ["a", "b"])
    assert m["roc_auc"] is None and m["pr_auc"] is None
    assert m["accuracy"] == 0.5


def test_expected_calibration_error_by_hand():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.95, 0.05], [0.55, 0.45], [0.9, 0.1], [0.4, 0.6]])
    r = reliability(y, proba, bins=10)
    # bins are right-inclusive: (0.9, 1] holds .95 (right); (0.8, 0.9] holds .9 (wrong); (0.5, 0.6] holds .55 and .6
    expected = (abs(1 - 0.95) + abs(0 - 0.9) + 2 * abs(1 - 0.575)) / 4
    assert r["ece"] == pytest.approx(expected)
    assert r["count"] == [2, 1, 1] and r["bin_lower"] == pytest.approx([0.5, 0.8, 0.9])


def test_calibrated_probabilities_have_small_ece():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 20000)
    correct = rng.uniform(size=20000) < confidence  # right exactly as often as claimed
    y = np.where(correct, 0, 1)
    proba = np.column_stack([confidence, 1 - confidence])
    assert reliability(y, proba)["ece"] < 0.02
    overconfident = np.column_stack([np.minimum(confidence + 0.3, 1.0), 1 - np.minimum(confidence + 0.3, 1.0)])
    assert reliability(y, overconfident)["ece"] > 0.15


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    widths = []
    for n in (50, 2000):
        y = rng.integers(0, 2, n)
        pred = np.where(rng.uniform(size=n) < 0.8, y, 1 - y)
        low, high = bootstrap_interval(y, pred, seed=0)
        assert low <= accuracy_score(y, pred) <= high
        widths.append(high - low)
        f1_low, f1_high = bootstrap_interval(y[:50], pred[:50], metric=f1_score, samples=100)
        assert f1_low <= f1_score(y[:50], pred[:50]) <= f1_high
    assert widths[1] < widths[0] / 3


def test_metrics_carry_the_headline_interval(three_class):
    labels, _, proba, names = three_class
    m = classification_metrics(labels, proba, names)
    assert m["interval"]["low"] <= m["accuracy"] <= m["interval"]["high"]
    assert 0 < m["ece"] < 1 and m["calibration"]["ece"] == m["ece"]


@pytest.mark.parametrize(("rows", "classes"), [(200, 7), (300, 12)])
def test_many_class_ranking_gives_scikit_learns_macro_values(rows, classes):
    from sklearn.metrics import average_precision_score, roc_auc_score

    from transferkit.evaluation.metrics import many_class_ranking

    rng = np.random.default_rng(rows)
    y = rng.integers(0, classes, rows)
    proba = np.round(rng.uniform(size=(rows, classes)), 1)  # many ties
    present = np.unique(y)
    onehot = (y[:, None] == present[None, :]).astype(int)
    got = many_class_ranking(y, proba, present)
    assert got["roc_auc"] == pytest.approx(roc_auc_score(onehot, proba[:, present], average="macro"), abs=1e-12)
    assert got["pr_auc"] == pytest.approx(
        average_precision_score(onehot, proba[:, present], average="macro"), abs=1e-12
    )


def test_mean_log_loss_above_the_class_limit_is_scikit_learns():
    from sklearn.metrics import log_loss

    from transferkit.evaluation.metrics import mean_log_loss

    rng = np.random.default_rng(0)
    proba = rng.uniform(size=(300, 80)) ** 4
    proba[0, 3] = 0.0  # a true class at probability 0: clipped alike
    proba /= proba.sum(axis=1, keepdims=True)
    y = rng.integers(0, 80, 300)
    y[0] = 3
    assert mean_log_loss(y, proba) == pytest.approx(log_loss(y, proba, labels=list(range(80))), rel=1e-12)
