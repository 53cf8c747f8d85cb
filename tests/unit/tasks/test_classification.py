"""Single-label classification as a task: encoding, the loss it hands the strategies, the decision policy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.errors import ConfigError, DataError
from transferkit.imbalance.losses import focal_loss
from transferkit.imbalance.weights import class_weights
from transferkit.tasks import ClassificationTask, get_task

TRAIN = LabeledData(
    modality="text",
    inputs=[f"text {i}" for i in range(8)],
    labels=["rare", "common", "common", "common", "common", "common", "rare", "common"],
    source="toy",
)
LOGITS = torch.tensor([[2.0, -1.0], [0.5, 0.3], [-1.0, 1.5], [0.0, 0.2]])
TARGETS = torch.tensor([0, 1, 1, 0])


def spec_with(**overrides) -> RunSpec:
    return RunSpec().with_overrides(overrides)


def task() -> ClassificationTask:
    return get_task("classification").from_training(TRAIN, spec=RunSpec())


def test_vocabulary_comes_from_the_training_labels_and_round_trips():
    t = task()
    assert t.output_names == ["common", "rare"]
    encoded = t.encode(["rare", "common", "rare"])
    assert encoded.tolist() == [1, 0, 1]
    assert t.decode(encoded) == ["rare", "common", "rare"]
    assert ClassificationTask.from_state(t.state()).state() == t.state()


def test_unknown_labels_are_named():
    t = task()
    assert t.unknown_labels(["rare", "odd", "new"]) == ["new", "odd"]
    with pytest.raises(DataError, match="odd"):
        t.encode(["odd"])


def test_training_target_has_one_softmax_output_per_class():
    target = task().training_target(spec=RunSpec(), train=TRAIN)
    assert target.output_names == ["common", "rare"] and target.activation == "softmax"
    assert target.encode(["rare", "common"]).tolist() == [1, 0]


def test_default_loss_is_cross_entropy():
    target = task().training_target(spec=RunSpec(), train=TRAIN)
    assert torch.equal(target.loss(LOGITS, TARGETS), F.cross_entropy(LOGITS, TARGETS))


def test_label_smoothing_matches_cross_entropy_with_smoothing():
    target = task().training_target(spec=spec_with(**{"optim.label_smoothing": 0.1}), train=TRAIN)
    assert torch.equal(target.loss(LOGITS, TARGETS), F.cross_entropy(LOGITS, TARGETS, label_smoothing=0.1))


def test_focal_loss_matches():
    target = task().training_target(
        spec=spec_with(**{"imbalance.loss": "focal", "imbalance.focal_gamma": 1.5}), train=TRAIN
    )
    assert torch.equal(target.loss(LOGITS, TARGETS), focal_loss(LOGITS, TARGETS, gamma=1.5))


def test_class_weights_come_from_the_training_counts():
    target = task().training_target(spec=spec_with(**{"imbalance.class_weight": "balanced"}), train=TRAIN)
    weights = torch.tensor([float(w) for w in class_weights(TRAIN.class_counts, "balanced")])
    assert weights[1] > weights[0]  # the rare class weighs more
    assert torch.equal(target.loss(LOGITS, TARGETS), F.cross_entropy(LOGITS, TARGETS, weight=weights))


def test_validation_scores_are_plain_cross_entropy_and_accuracy():
    target = task().training_target(spec=spec_with(**{"optim.label_smoothing": 0.2}), train=TRAIN)
    scores = target.validation_scores(LOGITS, TARGETS)
    assert torch.equal(scores["val_loss"], F.cross_entropy(LOGITS, TARGETS))
    assert float(scores["val_accuracy"]) == 0.5


PROBA = np.array([[0.9, 0.1], [0.7, 0.3], [0.4, 0.6]])


def test_decision_is_argmax_without_a_threshold():
    assert task().decide(PROBA) == ["common", "common", "rare"]


def test_a_tuned_threshold_decides_instead_of_argmax():
    t = ClassificationTask(class_names=["common", "rare"], threshold={"class": "rare", "value": 0.25})
    assert t.decide(PROBA) == ["common", "rare", "rare"]
    columns = t.prediction_columns(PROBA)
    assert list(columns) == ["label", "prob_common", "prob_rare"]
    assert columns["label"] == ["common", "rare", "rare"]
    assert t.metrics(["common", "rare", "rare"], PROBA)["accuracy"] == 1.0
    assert task().metrics(["common", "rare", "rare"], PROBA)["accuracy"] == pytest.approx(2 / 3)


def test_calibration_rescales_probabilities_but_keeps_every_decision():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet([0.3, 0.3], size=200)  # overconfident-looking rows
    t = ClassificationTask(class_names=["common", "rare"], threshold={"class": "rare", "value": 0.25})
    before = t.decide(proba)
    t.calibrate(2.0)
    assert t.decide(proba) == before  # the cut moved to the same scale
    assert 0.25 < t.threshold["value"] < 0.5  # a temperature above 1 pulls probabilities towards 1/2
    calibrated = t.prediction_columns(proba)["prob_rare"]
    expected = np.sqrt(proba[:, 1]) / (np.sqrt(proba[:, 0]) + np.sqrt(proba[:, 1]))  # softmax(log p / 2)
    np.testing.assert_allclose(calibrated, expected, rtol=1e-9)
    restored = ClassificationTask.from_state(t.state())  # saved in model.json, restored by predict / evaluate
    np.testing.assert_allclose(restored.prediction_columns(proba)["prob_rare"], expected, rtol=1e-9)
    assert restored.metrics(before, proba)["accuracy"] == 1.0


def test_threshold_auto_is_tuned_on_validation_rows_only():
    valid = LabeledData(
        modality="text", inputs=["a", "b", "c", "d"], labels=["common", "common", "rare", "rare"], source="v"
    )
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.75, 0.25]])
    t = task()
    blocks = t.fit_metrics(
        spec=spec_with(**{"imbalance.threshold": "auto"}),
        train=TRAIN,
        evaluated={"valid": valid},
        probas={"valid": proba},
    )
    assert blocks["threshold"]["class"] == "rare" and t.threshold == blocks["threshold"]
    assert blocks["valid"]["accuracy"] == 1.0  # the tuned cut separates the rows argmax got wrong
    assert list(blocks) == ["imbalance", "threshold", "valid"]


def test_threshold_auto_needs_validation_rows():
    with pytest.raises(ConfigError, match="validation"):
        task().check(spec=spec_with(**{"imbalance.threshold": "auto"}), train=TRAIN, valid=None)


def test_more_classes_than_the_documented_maximum_are_refused_before_training():
    from transferkit.tasks.classification import MAX_CLASSES

    labels = [f"id-{i}" for i in range(MAX_CLASSES + 1)]
    train = LabeledData(modality="text", inputs=labels, labels=labels, source="ids.csv")
    task = ClassificationTask.from_training(train, spec=spec_with())
    with pytest.raises(DataError, match=r"ids\.csv has 10,001 classes, more than the 10,000 .* check --label-column"):
        task.check(spec=spec_with(), train=train, valid=None)
