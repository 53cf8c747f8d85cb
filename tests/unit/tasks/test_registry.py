"""The task registry: names are unique, unknown names say what exists, a plugin task plugs in."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from transferkit.engine.targets import SingleLabelTarget
from transferkit.errors import ConfigError
from transferkit.tasks import ClassificationTask, Task, available_tasks, get_task, register_task


def test_classification_is_registered():
    assert "classification" in available_tasks()
    assert get_task("classification") is ClassificationTask


def test_unknown_task_names_the_choices():
    with pytest.raises(ConfigError, match=r"'task' option must be one of .*classification.*Got 'sentiment'"):
        get_task("sentiment")


def test_duplicate_name_raises():
    class Another(ClassificationTask):
        name = "classification"

    with pytest.raises(ConfigError, match="already registered"):
        register_task(Another)
    assert get_task("classification") is ClassificationTask


class EchoTask(Task):
    """A toy task: the label is the first character of the input's label, 'a' or 'b'."""

    name = "toy-echo"

    def __init__(self, *, names: list[str]) -> None:
        self.names = names

    @classmethod
    def from_training(cls, train, *, spec) -> EchoTask:
        return cls(names=sorted({label[0] for label in train.labels}))

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> EchoTask:
        return cls(names=state["names"])

    def state(self) -> dict[str, Any]:
        return {"names": self.names}

    @property
    def output_names(self) -> list[str]:
        return self.names

    def encode(self, labels):
        return np.array([self.names.index(label[0]) for label in labels])

    def decode(self, encoded):
        return [self.names[int(i)] for i in encoded]

    def training_target(self, *, spec, train):
        return SingleLabelTarget(output_names=self.names)

    def decide(self, proba):
        return self.decode(np.asarray(proba).argmax(axis=1))

    def metrics(self, labels, proba):
        return {"hits": int(sum(a[0] == b for a, b in zip(labels, self.decide(proba), strict=True)))}

    def fit_metrics(self, *, spec, train, evaluated, probas):
        return {name: self.metrics(split.labels, probas[name]) for name, split in evaluated.items()}

    def prediction_columns(self, proba):
        return {"echo": self.decide(proba)}

    def card_lines(self, *, metrics, spec, modality, chosen):
        return {"summary": ["An echo"], "intended_use": ["Tests."], "metrics": []}


def test_a_custom_task_plugs_into_get_task():
    register_task(EchoTask)
    task = get_task("toy-echo").from_state({"names": ["a", "b"]})
    assert isinstance(task, Task) and "toy-echo" in available_tasks()
    assert task.decode(task.encode(["apple", "banana"])) == ["a", "b"]
    assert task.prediction_columns(np.array([[0.2, 0.8]])) == {"echo": ["b"]}
    assert task.metrics(["apple", "bean"], np.array([[0.9, 0.1], [0.6, 0.4]])) == {"hits": 1}
    assert task.training_target(spec=None, train=None).encode(["b", "a"]).tolist() == [1, 0]


def test_the_config_accepts_registered_tasks_only():
    from transferkit.config import RunSpec

    assert RunSpec().data.task == "auto"  # resolved from the labels by fit (tasks.infer_task)
    assert RunSpec.from_dict({"data": {"task": "toy-echo"}}).data.task == "toy-echo"  # registered above
    with pytest.raises(ConfigError, match="classification"):
        RunSpec.from_dict({"data": {"task": "sentiment"}})


def test_fit_has_a_task_flag():
    from typer.testing import CliRunner

    from transferkit.cli import app

    result = CliRunner().invoke(app, ["fit", "--help"], terminal_width=200)
    assert "--task" in result.output
