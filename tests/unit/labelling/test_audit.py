"""Label audit over embeddings: flipped labels found with the right suggestion, duplicates, leaks and outliers."""

from __future__ import annotations

import numpy as np
import pytest

from transferkit.errors import DataError
from transferkit.labelling.audit import audit_embeddings, near_duplicates

pytest.importorskip("cleanlab")


def blobs(seed: int = 0, per: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 12)) * 3
    labels = np.repeat(np.arange(3), per)
    return centres[labels] + rng.normal(size=(len(labels), 12)), labels


def test_flipped_labels_are_flagged_with_the_true_label_suggested():
    features, truth = blobs()
    noisy = truth.copy()
    flips = np.random.default_rng(1).choice(len(truth), 18, replace=False)
    noisy[flips] = (truth[flips] + 1) % 3
    result = audit_embeddings(features, noisy, class_names=["a", "b", "c"], folds=3)
    flagged = set(result.issues["row"])
    precision = len(flagged & set(flips)) / len(flagged)
    recall = len(flagged & set(flips)) / len(flips)
    assert precision >= 0.7 and recall >= 0.5, (precision, recall)
    hits = result.issues[result.issues["row"].isin(flips)]
    assert (hits["suggested"] == [["a", "b", "c"][truth[row]] for row in hits["row"]]).all()
    assert result.summary["label_issues"] == len(result.issues)


def test_duplicates_across_train_and_test_are_leaks_and_a_far_row_is_an_outlier():
    features, labels = blobs()
    features[5] = features[100] * 1.0001  # a near copy of a row of another split
    features[7] = 40.0  # far from everything
    split = ["train"] * 90 + ["test"] * 90
    result = audit_embeddings(features, labels, class_names=["a", "b", "c"], split=split, folds=3)
    pair = result.duplicates[(result.duplicates.row == 5) & (result.duplicates.other == 100)]
    assert len(pair) == 1 and bool(pair["leak"].iloc[0])
    assert 7 in set(result.outliers["row"])


def test_near_duplicates_within_one_split_are_not_leaks():
    rows = np.eye(4)
    rows[1] = rows[0] + 1e-4
    frame = near_duplicates(rows, split=["train"] * 4)
    assert frame[["row", "other"]].values.tolist() == [[0, 1]] and not frame["leak"].any()


def test_a_class_with_one_row_cannot_be_cross_validated():
    with pytest.raises(DataError, match="at least 2"):
        audit_embeddings(np.eye(5), np.array([0, 0, 0, 0, 1]), class_names=["a", "b"])
