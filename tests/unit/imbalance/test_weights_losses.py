"""Class weights (balanced, effective number, a map) and the softmax focal loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch.nn import functional as F

from transferkit.config import RunSpec
from transferkit.errors import ConfigError
from transferkit.imbalance.losses import classification_loss, focal_loss
from transferkit.imbalance.weights import class_weights


def test_balanced_matches_scikit_learn():
    labels = np.array(["bad"] * 7 + ["good"] * 93)
    expected = compute_class_weight("balanced", classes=np.array(["bad", "good"]), y=labels)
    assert np.allclose(class_weights({"bad": 7, "good": 93}, "balanced"), expected)


def test_effective_number_sits_between_equal_and_inverse_frequency():
    counts = {"bad": 10, "good": 190}
    mild = class_weights(counts, "effective:0.9")
    strong = class_weights(counts, "effective:0.9999")
    balanced = class_weights(counts, "balanced")
    assert 1.0 <= mild[0] / mild[1] < strong[0] / strong[1] <= balanced[0] / balanced[1]
    # Cui et al.: weight proportional to (1 - beta) / (1 - beta^n)
    raw = (1 - 0.9) / (1 - 0.9 ** np.array([10, 190]))
    assert np.isclose(mild[0] / mild[1], raw[0] / raw[1])
    # normalised to mean 1 over the training examples: the loss keeps its scale
    assert np.isclose((strong * np.array([10, 190])).sum() / 200, 1.0)


def test_json_map_and_none():
    assert class_weights({"a": 5, "b": 5}, "none") is None
    weights = class_weights({"a": 5, "b": 5}, '{"a": 3}')
    assert np.isclose(weights[0] / weights[1], 3.0)


@pytest.mark.parametrize("value", ["balance", "effective:1.5", "effective:x", '{"a": -1}', "{oops"])
def test_bad_class_weight_names_the_option_and_valid_values(value):
    with pytest.raises(ConfigError, match=r"imbalance\.class_weight.*none, balanced, effective:BETA"):
        RunSpec.from_dict({"imbalance": {"class_weight": value}})


def test_bad_resample_names_valid_values():
    with pytest.raises(ConfigError, match=r"imbalance\.resample.*smote"):
        RunSpec.from_dict({"imbalance": {"resample": "smot"}})


def test_map_with_unknown_class_is_refused():
    with pytest.raises(ConfigError, match=r"class-weight.*lacks"):
        class_weights({"a": 5, "b": 5}, '{"c": 2}')


def test_focal_gamma_zero_is_cross_entropy_and_weighted_mean_matches():
    torch.manual_seed(0)
    logits, targets = torch.randn(32, 3), torch.randint(0, 3, (32,))
    weight = torch.tensor([3.0, 1.0, 0.5])
    assert torch.isclose(focal_loss(logits, targets, gamma=0.0), F.cross_entropy(logits, targets))
    assert torch.isclose(
        focal_loss(logits, targets, gamma=0.0, weight=weight), F.cross_entropy(logits, targets, weight=weight)
    )


def test_focal_down_weights_easy_examples():
    easy = torch.tensor([[6.0, 0.0]])
    hard = torch.tensor([[0.2, 0.0]])
    target = torch.tensor([0])
    ce_ratio = F.cross_entropy(easy, target) / F.cross_entropy(hard, target)
    focal_ratio = focal_loss(easy, target, gamma=2.0) / focal_loss(hard, target, gamma=2.0)
    assert focal_ratio < ce_ratio / 100
    # per example: (1 - p)^gamma * CE
    p = easy.softmax(-1)[0, 0]
    assert torch.isclose(focal_loss(easy, target, gamma=2.0), (1 - p) ** 2 * F.cross_entropy(easy, target))


def test_classification_loss_dispatch():
    logits, targets = torch.randn(8, 2), torch.randint(0, 2, (8,))
    assert torch.isclose(classification_loss(logits, targets), F.cross_entropy(logits, targets))
    assert classification_loss(logits, targets, loss="focal", gamma=2.0) < F.cross_entropy(logits, targets)
