"""Embeddings of small slices of real data, computed once per session (the feature cache makes reuse free)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transferkit.data import load_labeled
from transferkit.embedding_cache import extract_features


@pytest.fixture(scope="session")
def review_rows(reviews_csv: Path):
    return load_labeled(reviews_csv, text_column="review", label_column="score")


@pytest.fixture(scope="session")
def review_embeddings(minilm, review_rows) -> tuple[np.ndarray, np.ndarray]:
    """MiniLM embeddings of 100 real fine-food reviews (50 great, 50 other) and their labels."""
    features, _ = extract_features(minilm, review_rows.inputs)
    return features, np.array(review_rows.labels)


@pytest.fixture(scope="session")
def digit_rows(digits_folder: Path):
    return load_labeled(digits_folder)


@pytest.fixture(scope="session")
def digit_embeddings(effnet, digit_rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EfficientNet-Lite0 embeddings and ImageNet-class probabilities of 72 real digits (0, 1, 7) with labels."""
    from transferkit.ranking.ranker import RunSpec, softmax, source_logits

    features, _ = extract_features(effnet, digit_rows.inputs)
    logits = source_logits(effnet, digit_rows.inputs, features, RunSpec())
    return features, softmax(logits.astype(np.float64)), np.array(digit_rows.labels)
