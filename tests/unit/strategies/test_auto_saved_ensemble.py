"""Issue 21: strategy auto saves its ensemble of cheap candidates as one model when the out-of-fold rule says it
beats the choice (and its members' final fits fit the budget), the single choice otherwise; the saved ensemble
loads bit for bit, predicts through the API, exports one ONNX graph, bundles, and names itself in the report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import transferkit
from transferkit.artifacts import load_model, load_task, save_model
from transferkit.bundle import export_bundle
from transferkit.config import RunSpec
from transferkit.data import load_labeled
from transferkit.embedding_cache import extract_features
from transferkit.errors import ArtifactError
from transferkit.models.ensemble import EnsembleModel
from transferkit.strategies import auto
from transferkit.strategies.auto import AutoStrategy
from transferkit.strategies.auto_ensemble import judged
from transferkit.strategies.choice import decide_with_prior
from transferkit.strategies.policy import prior_for

COLUMNS = {"text_column": "review", "label_column": "score", "max_length": 64, "split_column": "split"}


def injected_select(ensemble_folds: list[float]):
    """AutoStrategy.select with injected fold scores: the candidates' and the ensemble's, judged by the real rule."""

    def select(self, *, train, **_kwargs):
        scores = {
            name: {"mean": mean, "std": 0.0, "folds": [mean] * 3, "seconds": 0.3}
            for name, mean in (("probe", 0.7), ("classic", 0.6), ("concat", 0.65))
        }
        prior = prior_for("text", "bundled:minilm", per_class=min(train.class_counts.values()), inputs=train.inputs)
        selection = decide_with_prior(scores, prior=prior, eligible=list(scores), folds=3, skipped={})
        members = ["probe", "concat"]
        record = {"members": members, "offered": True, "weights": {"probe": 0.75, "concat": 0.25}}
        record |= judged(ensemble_folds, [(0.75, 0.25)] * 3, scores, chosen=selection["chosen"], members=members)
        return selection | {"ensemble": record, "seconds": 0.0, "budget_seconds": 120.0, "cut": {}}

    return select


@pytest.fixture(scope="module")
def saved_ensemble(reviews_csv, tmp_path_factory, minilm):
    """A default fit whose injected folds say the ensemble of probe and concat wins."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AutoStrategy, "select", injected_select([0.9, 0.9, 0.9]))
        out = tmp_path_factory.mktemp("ensemble-fit")
        result = transferkit.fit(reviews_csv, output_dir=str(out), name="ens", preset="fast", **COLUMNS)
    return result


def test_auto_saves_the_ensemble_when_it_wins_and_it_round_trips(saved_ensemble, reviews_csv, tmp_path):
    selection = saved_ensemble.metrics["selection"]
    assert selection["chosen"] == "ensemble" and selection["ensemble"]["saved"] is True
    assert selection["single"]["chosen"] in {"probe", "classic", "concat"}
    assert selection["decided_by"] == "cross-validation (ensemble)"
    line = "an ensemble of probe, concat (weights 0.75, 0.25)"
    assert line in selection["why"] and selection["scores"]["ensemble"]["mean"] == 0.9
    model_dir = saved_ensemble.run_dir / "model"
    model = load_model(model_dir)
    assert isinstance(model, EnsembleModel) and model.names == ["probe", "concat"]
    assert all(member.backbone is model.backbone for member in model.members)  # one backbone, embedded once
    test = pd.read_csv(reviews_csv).query("split == 'test'")
    texts = list(test.review)
    cached = extract_features(model.backbone, texts, runtime="torch")[0]  # embedded when the fit scored the test rows
    proba = saved_ensemble.model.predict_proba(texts, embeddings=cached)
    assert np.array_equal(model.predict_proba(texts, embeddings=cached), proba)  # bit-identical after load
    probe, concat = model.members
    mixed = 0.75 * probe.predict_proba_features(cached) + 0.25 * concat.predict_proba(texts, embeddings=cached)
    assert (
        np.allclose(proba, mixed, atol=1e-6)
        and (np.array(model.class_names)[proba.argmax(1)] == test.score).mean() > 0.6
    )
    test.iloc[:8].to_csv(tmp_path / "test.csv", index=False)
    frame = transferkit.predict(model_dir, [tmp_path / "test.csv"], text_column="review")  # embeds through the backbone
    calibrated = load_task(model_dir).calibrated(proba[:8])  # the fit's temperature scaling, as for any model
    assert np.allclose(frame[["prob_great", "prob_other"]].to_numpy(), calibrated, atol=1e-5)
    assert line in (saved_ensemble.run_dir / "report.md").read_text()
    assert line in (model_dir / "README.md").read_text()
    bundle = export_bundle(model_dir, tmp_path / "bundle")  # one feature member: a concat model's inputs
    assert bundle.max_abs_diff <= 1e-4 and bundle.checked_inputs == 8  # the runtime against PyTorch, kept examples
    manifest = json.loads((model_dir / "model.json").read_text())
    assert manifest["model"]["kind"] == "ensemble" and "ensemble.json" in manifest["files"]


def test_an_ensemble_whose_members_read_two_classic_inputs_is_refused_a_bundle_in_one_line(saved_ensemble, tmp_path):
    """classic and concat each read their own TF-IDF rows: the ONNX graph takes both, the bundle runtime one."""
    model = load_model(saved_ensemble.run_dir / "model")
    probe, concat = model.members
    members = {"probe": probe, "concat": concat, "classic": concat}
    three = EnsembleModel(members, weights=[2, 1, 1], class_names=model.class_names)
    assert three.model_inputs(["Stale."])[1] == [
        "input_ids",
        "attention_mask",
        "classic_features",
        "classic_features_1",
    ]
    folder = save_model(three, tmp_path / "three", backbone_trained=False)
    with pytest.raises(ArtifactError, match=r"An ensemble of probe, concat, classic .* cannot be bundled yet"):
        export_bundle(folder, tmp_path / "bundle", check_inputs=["Stale and overpriced."])


def test_auto_saves_the_single_choice_when_the_ensemble_loses_or_does_not_fit(reviews_csv, tmp_path, minilm):
    pd.read_csv(reviews_csv).query("split == 'train'").to_csv(tmp_path / "train.csv", index=False)
    train = load_labeled(tmp_path / "train.csv", text_column="review", label_column="score")
    spec = RunSpec.from_dict({"run": {"preset": "fast"}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AutoStrategy, "select", injected_select([0.7, 0.7, 0.7]))  # no better than the choice
        result = AutoStrategy().fit(backbone=minilm, train=train, valid=None, spec=spec, run_dir=tmp_path)
    assert result.selection["chosen"] != "ensemble" and not isinstance(result.model, EnsembleModel)
    assert (
        result.selection["ensemble"]["saved"] is False
        and "did not beat" in result.selection["ensemble"]["why_not_saved"]
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AutoStrategy, "select", injected_select([0.9, 0.9, 0.9]))
        patch.setattr(auto, "CHEAP_FINAL_FOLDS", 10**6)  # the members' final fits priced beyond the budget
        result = AutoStrategy().fit(backbone=minilm, train=train, valid=None, spec=spec, run_dir=tmp_path)
    record = result.selection["ensemble"]
    assert result.selection["chosen"] != "ensemble" and record["saved"] is False
    assert "final fits" in record["why_not_saved"] and "was saved alone" in record["why_not_saved"]
    assert "beat it out of fold, not saved: its members' final fits" in result.selection["why"]
