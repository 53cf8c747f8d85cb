"""`fit --zero-shot`'s seeding rule, and a distillation student fine-tuned on soft labels (tiny random BERT)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tests.unit.workflows.batch_models import TEXTS, tiny_text_model
from transferkit.artifacts import load_model
from transferkit.config import RunSpec
from transferkit.data import LabeledData
from transferkit.errors import ConfigError
from transferkit.labelling.distil import distil
from transferkit.labelling.fit_options import seeding

DESCRIPTIONS = {"great": "praise", "other": "a complaint"}


def _train(per_class: int) -> LabeledData:
    labels = ["great"] * per_class + ["other"] * per_class
    return LabeledData("text", [f"review {i}" for i in range(len(labels))], labels, "train.csv")


@pytest.mark.parametrize(("per_class", "option", "seeded"), [(16, "auto", True), (17, "auto", False), (17, "on", True)])
def test_auto_seeds_up_to_16_labels_per_class(per_class, option, seeded):
    spec = RunSpec().with_overrides({"run.zero_shot_seed": option})
    assert seeding(spec, _train(per_class), DESCRIPTIONS) is seeded
    assert seeding(RunSpec().with_overrides({"run.zero_shot_seed": "off"}), _train(2), DESCRIPTIONS) is False


def test_descriptions_that_name_other_classes_are_not_seeded_and_on_says_why():
    other_names = {"good": "praise", "bad": "a complaint"}
    assert seeding(RunSpec(), _train(2), other_names) is False
    with pytest.raises(ConfigError, match="--zero-shot-seed off"):
        seeding(RunSpec().with_overrides({"run.zero_shot_seed": "on"}), _train(2), other_names)


def test_a_fine_tuned_student_is_saved_with_its_trained_backbone(tmp_path):
    teacher = tiny_text_model(tmp_path / "teacher")
    pd.DataFrame({"text": TEXTS[:12]}).to_csv(tmp_path / "pool.csv", index=False)
    before = load_model(teacher).backbone.model.embeddings.word_embeddings.weight.detach().clone()
    run = distil(teacher, tmp_path / "pool.csv", student=f"path:{tmp_path / 'teacher' / 'bert'}", epochs=1,
                 output_dir=tmp_path / "runs", name="student")  # fmt: skip
    student = load_model(run.model_dir)
    assert run.metrics["student_epochs"] == 1
    assert not torch.equal(student.backbone.model.embeddings.word_embeddings.weight, before)  # the encoder trained
    proba = student.predict_proba(TEXTS[:4])
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_the_cut_minilm_students_are_registered_but_not_listed_as_candidates():
    from transferkit.backbones import backbone_entry, list_backbones

    listed = {entry.name for entry in list_backbones(modality="text")}
    assert "bundled:minilm" in listed and "bundled:minilm-l2" not in listed  # rank / recommend never pick them
    assert {"bundled:minilm-l2", "bundled:minilm-l3"} <= {entry.name for entry in list_backbones(students=True)}
    assert backbone_entry("bundled:minilm-l2").student
