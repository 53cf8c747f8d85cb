"""`transferkit audit --model finetune`: each fold fine-tunes a fresh copy of the backbone (tiny random BERT here)
and its out-of-fold probabilities join the frozen audit models'."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.unit.workflows.batch_models import TEXTS, tiny_text_model
from transferkit.cli import run
from transferkit.labelling.audit import combined
from transferkit.labelling.audit_run import audit

pytest.importorskip("cleanlab")


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    tiny_text_model(root)
    return f"path:{root / 'bert'}"


def test_the_fine_tuned_model_joins_the_audit_with_out_of_fold_probabilities(bert, tmp_path):
    labels = ["bad" if text.startswith("bad") else "good" for text in TEXTS[:36]]
    pd.DataFrame({"text": TEXTS[:36], "label": labels}).to_csv(tmp_path / "data.csv", index=False)
    done = audit(tmp_path / "data.csv", backbone=bert, model="finetune", finetune_folds=2, epochs=1, folds=3,
                 output_dir=tmp_path / "runs", name="ft")  # fmt: skip
    components = done.result.components
    tuned = components[f"fine-tuned {bert}"]
    assert list(components)[:3] == ["embedding probe", "TF-IDF words", "TF-IDF characters"]
    assert tuned.shape == (36, 2) and np.allclose(tuned.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(tuned, components["embedding probe"])  # a model of its own, not the frozen probe
    assert np.allclose(done.result.pred_probs, combined(components))
    metrics = json.loads((done.run_dir / "metrics.json").read_text())
    assert metrics["audit_model"] == "finetune" and "fine-tuned" in metrics["models"]
    config = yaml.safe_load((done.run_dir / "config.yaml").read_text())
    assert config["model"] == "finetune" and config["finetune_folds"] == 2 and config["epochs"] == 1


def test_an_unknown_audit_model_is_a_user_error(tmp_path, capsys):
    pd.DataFrame({"text": TEXTS[:8], "label": ["a", "b"] * 4}).to_csv(tmp_path / "data.csv", index=False)
    assert run(["audit", str(tmp_path / "data.csv"), "--model", "bigger", "--output-dir", str(tmp_path / "r")]) == 2
    assert "--model must be one of frozen, finetune" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
