"""Zero-shot classification from descriptions: parsing, and the nearest description wins."""

from __future__ import annotations

import numpy as np
import pytest

from transferkit.errors import ConfigError
from transferkit.labelling.zero_shot import parse_label_descriptions, synthetic_examples, zero_shot_proba


def test_descriptions_keep_their_commas_and_bare_names_describe_themselves():
    parsed = parse_label_descriptions("great: tasty, fresh and cheap; other: stale")
    assert parsed == {"great": "tasty, fresh and cheap", "other": "stale"}
    assert parse_label_descriptions("cat; dog") == {"cat": "cat", "dog": "dog"}


@pytest.mark.parametrize("text", ["great: only one", "a: x, a: y", ""])
def test_fewer_than_two_classes_or_a_repeated_one_is_a_config_error(text):
    with pytest.raises(ConfigError, match="--labels"):
        parse_label_descriptions(text)


@pytest.mark.parametrize("method", ["similarity", "centred"])
def test_each_input_goes_to_its_nearest_description(method):
    classes = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    inputs = np.array([[0.9, 0.1, 0], [0.1, 0, 0.8], [0, 1, 0.1], [0.8, 0.1, 0.1]])
    proba = zero_shot_proba(inputs, classes, method=method)
    assert proba.argmax(axis=1).tolist() == [0, 2, 1, 0]
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_synthetic_examples_train_a_probe_per_class():
    texts, targets = synthetic_examples({"great": "praise", "other": "complaint"})
    assert len(texts) == len(targets) and set(targets) == {0, 1}
    rng = np.random.default_rng(0)
    class_rows = np.where(np.array(targets)[:, None] == 0, [5.0, 0.0], [0.0, 5.0]) + rng.normal(size=(len(texts), 2))
    proba = zero_shot_proba(
        np.array([[4.0, 0.0], [0.0, 4.0]]), class_rows, method="synthetic", synthetic_targets=targets
    )
    assert proba.argmax(axis=1).tolist() == [0, 1]
