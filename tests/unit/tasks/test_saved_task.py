"""model.json records the task and its state; folders saved before tasks existed load as classification."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from transferkit.artifacts import load_model, load_task, save_model
from transferkit.models.heads import ClassifierHead
from transferkit.models.predictor import Predictor
from transferkit.models.transfer_model import TransferModel
from transferkit.tasks import ClassificationTask
from transferkit.workflows.predict import predict

TEXTS = ["Stale crackers, would not buy again.", "Best tea I have had in years!"]
THRESHOLD = {"class": "bad", "value": 0.2, "objective": "balanced_accuracy", "tuned_on": "valid"}


@pytest.fixture()
def model(minilm) -> TransferModel:
    torch.manual_seed(0)
    head = ClassifierHead(in_features=minilm.num_features, num_classes=2)
    head.standardize.fit(torch.randn(20, minilm.num_features))
    return TransferModel(minilm, head, ["bad", "good"])


def test_model_json_carries_the_task_and_its_state(model, tmp_path):
    task = ClassificationTask(class_names=["bad", "good"], threshold=THRESHOLD)
    folder = save_model(model, tmp_path / "model", backbone_trained=False, task=task)
    manifest = json.loads((folder / "model.json").read_text())
    assert manifest["task"] == {
        "name": "classification",
        "state": {"class_names": ["bad", "good"], "threshold": THRESHOLD},
    }
    loaded = load_task(folder)
    assert isinstance(loaded, ClassificationTask) and loaded.state() == task.state()
    proba = load_model(folder).predict_proba(TEXTS)
    expected = ["bad" if p >= 0.2 else "good" for p in proba[:, 0]]
    assert predict(folder, texts=TEXTS)["label"].tolist() == expected


def test_a_folder_without_a_task_loads_as_classification(model, tmp_path):
    folder = save_model(model, tmp_path / "model", backbone_trained=False, metadata={"threshold": THRESHOLD})
    manifest = json.loads((folder / "model.json").read_text())
    del manifest["task"]  # as written before tasks were recorded
    (folder / "model.json").write_text(json.dumps(manifest))
    task = load_task(folder)
    assert task.name == "classification" and task.state() == {"class_names": ["bad", "good"], "threshold": THRESHOLD}
    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), model.predict_proba(TEXTS))
    frame = predict(folder, texts=TEXTS)
    assert list(frame.columns) == ["input", "label", "prob_bad", "prob_good"]


def test_saved_models_are_predictors(model, tmp_path):
    assert isinstance(model, Predictor)
    assert isinstance(load_model(save_model(model, tmp_path / "m", backbone_trained=False)), Predictor)


def test_an_export_carries_the_task_and_its_threshold(model, tmp_path):
    from transferkit.export import export_model

    task = ClassificationTask(class_names=["bad", "good"], threshold=THRESHOLD)
    folder = save_model(model, tmp_path / "model", backbone_trained=False, task=task)
    result = export_model(folder, format="torchscript", check_inputs=TEXTS)
    metadata = json.loads(result.metadata_path.read_text())
    assert metadata["task"] == {"name": "classification", "state": task.state()}
