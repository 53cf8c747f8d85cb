"""Multi-label as a task: label-set encoding, the BCE loss with positive weights, thresholds tuned on validation
rows only, metrics equal to scikit-learn's, the task's model.json state, inference and refused options."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, f1_score, hamming_loss

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.engine.contrastive import pairwise_cosine_loss
from transferkit.errors import ConfigError
from transferkit.tasks import MultiLabelTask, get_task, infer_task, task_from_manifest, task_record

LABELS = ["Drama|Comedy", "Drama", "War|Drama", "Comedy", "Comedy|Romance", "Drama|Romance"] * 4
TRAIN = LabeledData(modality="text", inputs=[f"film {i}" for i in range(len(LABELS))], labels=LABELS, source="films")


def task() -> MultiLabelTask:
    return get_task("multilabel").from_training(TRAIN, spec=RunSpec())


def test_label_sets_encode_to_rows_and_back():
    t = task()
    assert t.label_names == ["Comedy", "Drama", "Romance", "War"]
    rows = t.encode(["Drama|Comedy", "War", "|"])
    assert rows.tolist() == [[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert t.decode(rows) == ["Comedy|Drama", "War", "|"]
    assert t.unknown_labels(["Drama|Horror"]) == ["Horror"]


def test_the_target_is_bce_with_more_weight_on_rare_labels():
    target = task().training_target(spec=RunSpec(), train=TRAIN)
    assert target.activation == "sigmoid"
    weights = dict(zip(target.output_names, target.positive_weights, strict=True))
    assert weights["War"] > weights["Comedy"] >= 1.0 and weights["Drama"] == 1.0  # Drama: most rows
    outputs, targets = torch.zeros(2, 4), target.encode(["Drama", "War|Comedy"])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        outputs, targets, pos_weight=torch.tensor(target.positive_weights)
    )
    assert torch.isclose(target.loss(outputs, targets), expected)


def test_thresholds_are_tuned_on_validation_rows_and_never_on_test_rows():
    t = task()
    rng = np.random.default_rng(0)
    valid = LabeledData("text", ["v"] * 24, LABELS, "valid")
    test = LabeledData("text", ["t"] * 24, ["War"] * 24, "test")  # if test rows tuned, War's cut would drop
    truth = t.encode(valid.labels)
    valid_proba = np.clip(truth * 0.3 + rng.uniform(0, 0.25, truth.shape), 0, 1)  # positives sit at 0.3-0.55
    test_proba = np.full((24, 4), 0.05)
    metrics = t.fit_metrics(
        spec=RunSpec(),
        train=TRAIN,
        evaluated={"valid": valid, "test": test},
        probas={"valid": valid_proba, "test": test_proba},
    )
    tuned = dict(zip(t.label_names, t.cuts(), strict=True))
    assert tuned["Drama"] < 0.5 and metrics["thresholds"]["tuned_labels"] == 3  # War: 4 positives, too few
    assert tuned["War"] == metrics["thresholds"]["global"]
    assert metrics["valid"]["micro_f1"] > 0.9 and metrics["test"]["micro_f1"] == 0.0


def test_metrics_equal_scikit_learns_on_fixed_arrays():
    t = MultiLabelTask(label_names=["a", "b", "c"], thresholds={"thresholds": [0.5, 0.3, 0.7], "global": 0.5})
    truth = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    proba = np.array([[0.9, 0.2, 0.8], [0.4, 0.35, 0.1], [0.6, 0.1, 0.75], [0.2, 0.6, 0.5]])
    m = t.metrics(t.decode(truth), proba)
    predicted = (proba >= [0.5, 0.3, 0.7]).astype(int)
    assert m["micro_f1"] == pytest.approx(f1_score(truth, predicted, average="micro"))
    assert m["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"))
    assert m["samples_f1"] == pytest.approx(f1_score(truth, predicted, average="samples"))
    assert m["hamming_loss"] == pytest.approx(hamming_loss(truth, predicted))
    assert m["mean_average_precision"] == pytest.approx(average_precision_score(truth, proba, average="macro"))
    assert m["subset_accuracy"] == pytest.approx(0.5)
    assert m["per_label"]["b"]["support"] == 2


def test_the_state_round_trips_through_model_json():
    t = task()
    t.thresholds = {"thresholds": [0.3, 0.4, 0.5, 0.6], "global": 0.45, "tuned_labels": 3}
    manifest = json.loads(json.dumps({"task": task_record(t)}))
    again = task_from_manifest(manifest)
    assert isinstance(again, MultiLabelTask) and again.state() == t.state()
    assert again.decide(np.array([[0.35, 0.35, 0.9, 0.1]])) == ["Comedy|Romance"]


def test_label_cells_with_the_separator_make_the_task_multilabel():
    assert infer_task(LABELS, separator="|")[0] == "multilabel"
    assert infer_task(["Drama", "Comedy"], separator="|")[0] == "classification"
    assert infer_task(["Drama", "Comedy"], separator="|", label_columns=True)[0] == "multilabel"


def test_classification_only_options_are_refused_with_the_flag_named():
    with pytest.raises(ConfigError, match="--label-smoothing"):
        task().check(spec=RunSpec.from_dict({"optim": {"label_smoothing": 0.1}}), train=TRAIN, valid=None)


def test_contrastive_pairs_are_pulled_by_the_jaccard_overlap_of_their_label_sets():
    embeddings = torch.tensor([[1.0, 0.0], [0.6, 0.8]])  # cosine 0.6
    overlap_third = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])  # Jaccard 1/3
    assert float(pairwise_cosine_loss(embeddings, overlap_third)) == pytest.approx((0.6 - 1 / 3) ** 2)
