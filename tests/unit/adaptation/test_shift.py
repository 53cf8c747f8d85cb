"""`shift` on real embeddings: near zero within one dataset, large from rendered fonts to handwritten MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from transferkit.adaptation.domain_shift import measure_shift, proxy_a_distance, severity_of
from transferkit.errors import DataError

pytestmark = pytest.mark.slow


def test_random_split_of_one_dataset_shows_almost_no_shift(digits_recipe) -> None:
    order = np.random.default_rng(0).permutation(len(digits_recipe.target))
    half = len(order) // 2
    report = measure_shift(source=digits_recipe.target[order[:half]], target=digits_recipe.target[order[half:]])
    assert report.domain_accuracy < 0.65
    assert report.proxy_a_distance < 0.6
    assert report.severity in {"negligible", "small"}
    assert report.mmd_p_value > 0.05
    assert "not statistically distinguishable" in report.verdict


def test_fonts_to_mnist_is_a_large_shift_with_per_class_statistics(digits_recipe) -> None:
    labels = [str(t) for t in digits_recipe.source_targets]
    target_labels = [str(t) for t in digits_recipe.target_targets]
    report = measure_shift(
        source=digits_recipe.source, target=digits_recipe.target, source_labels=labels, target_labels=target_labels
    )
    assert report.domain_accuracy > 0.9
    assert report.proxy_a_distance > 1.5
    assert report.severity in {"large", "severe"}
    assert report.mmd_p_value < 0.01
    # The measured consequence: a source classifier loses most of its accuracy on the target.
    assert report.source_accuracy > 0.8
    assert report.target_accuracy < report.source_accuracy - 0.3
    assert sorted(report.per_class) == [str(d) for d in range(10)]
    assert all(row["centroid_shift"] > 0 for row in report.per_class.values())
    assert "expect" in report.verdict or "fail" in report.verdict


def test_proxy_a_distance_and_severity_words() -> None:
    assert proxy_a_distance(0.5) == 0.0
    assert proxy_a_distance(1.0) == 2.0
    assert proxy_a_distance(0.4) == 0.0  # worse than chance is no evidence of a shift
    assert [severity_of(p) for p in (0.0, 0.5, 1.0, 1.5, 2.0)] == ["negligible", "small", "moderate", "large", "severe"]


def test_too_few_examples_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="at least 10 examples"):
        measure_shift(source=np.zeros((5, 3)), target=np.zeros((20, 3)))
