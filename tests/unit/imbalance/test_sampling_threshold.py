"""Samplers give the requested class ratios; synthetic methods keep the original rows; tuned thresholds;
the suggestion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score

from transferkit.config import ImbalanceConfig
from transferkit.errors import ConfigError
from transferkit.imbalance.advice import imbalance_advice
from transferkit.imbalance.sampling import (
    BalancedBatchSampler,
    check_resample,
    resample_indices,
    resample_training,
)
from transferkit.imbalance.threshold import apply_threshold, tune_threshold

TARGETS = np.array([0] * 95 + [1] * 5 + [2] * 20)


@pytest.mark.parametrize(("method", "expected"), [("oversample", [95, 95, 95]), ("undersample", [5, 5, 5])])
def test_random_resampling_equalises_counts_with_real_rows(method, expected):
    picked = resample_indices(TARGETS, method, seed=0)
    assert np.bincount(TARGETS[picked]).tolist() == expected
    assert picked.min() >= 0 and picked.max() < len(TARGETS)


def test_balanced_batches_draw_classes_equally_and_repeat_per_epoch():
    sampler = BalancedBatchSampler(torch.as_tensor(TARGETS), seed=0, num_samples=30_000)
    drawn = np.bincount(TARGETS[list(sampler)]) / 30_000
    assert np.allclose(drawn, 1 / 3, atol=0.02)
    sampler.set_epoch(3)
    first = list(sampler)
    sampler.set_epoch(3)
    assert list(sampler) == first  # resume draws the same batches
    sampler.set_epoch(4)
    assert list(sampler) != first


@pytest.mark.parametrize("method", ["smote", "adasyn", "borderline-smote"])
def test_synthetic_methods_keep_the_original_rows_and_add_minority_ones(method):
    rng = np.random.default_rng(0)
    targets = np.array([0] * 80 + [1] * 12)
    features = np.concatenate([rng.normal(0, 1, (80, 6)), rng.normal(0.8, 1, (12, 6))]).astype(np.float32)
    new_features, new_targets = resample_training(features, targets, method, seed=0)
    assert np.array_equal(new_features[:92], features) and np.array_equal(new_targets[:92], targets)
    added = new_targets[92:]
    assert len(added) > 40 and set(added) == {1}
    assert abs(np.bincount(new_targets)[1] - 80) <= 8  # ADASYN only approximately balances


def test_synthetic_resampling_refused_on_raw_inputs():
    check_resample("oversample", on_features=False)
    with pytest.raises(ConfigError, match=r"resample.*smote.*never on raw pixels or token ids"):
        check_resample("smote", on_features=False)


def test_tuned_threshold_maximises_balanced_accuracy():
    rng = np.random.default_rng(1)
    positive = (rng.random(300) < 0.1).astype(int)
    scores = np.clip(0.15 * positive + rng.normal(0.2, 0.1, 300), 0, 1)
    cut = tune_threshold(positive, scores)
    best = balanced_accuracy_score(positive, scores >= cut)
    brute = max(balanced_accuracy_score(positive, scores >= c) for c in np.unique(scores))
    assert np.isclose(best, brute)
    assert best > balanced_accuracy_score(positive, scores >= 0.5)


def test_apply_threshold_on_the_named_class():
    proba = np.array([[0.3, 0.7], [0.1, 0.9], [0.6, 0.4]])
    record = {"class": "bad", "value": 0.25}
    assert apply_threshold(proba, ["bad", "good"], record).tolist() == [0, 1, 0]
    assert apply_threshold(proba, ["bad", "good"], None).tolist() == [1, 1, 0]


def test_suggestion_only_when_skewed_and_unhandled():
    assert "19:1" in imbalance_advice({"bad": 10, "good": 190}, ImbalanceConfig())
    assert imbalance_advice({"bad": 60, "good": 190}, ImbalanceConfig()) is None
    assert imbalance_advice({"bad": 10, "good": 190}, ImbalanceConfig(resample="smote")) is None
