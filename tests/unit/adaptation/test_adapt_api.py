"""`adapt` and `shift` end to end: run folders, saved models that predict, tables, AdaBN, the CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from transferkit import evaluate, load_model, predict
from transferkit.adaptation import adapt, shift
from transferkit.adaptation.inputs import batch_norm_layers, reestimate_batch_norm
from transferkit.adaptation.recipes import CREDIT_COLUMNS, credit_tables
from transferkit.cli import run
from transferkit.errors import ConfigError, DataError


@pytest.mark.slow
def test_adapt_writes_a_run_folder_and_a_model_that_predicts_on_the_target(digits_recipe, tmp_path) -> None:
    result = adapt(
        source=digits_recipe.source_dir,
        target=digits_recipe.target_dir,
        method="source-only,coral",
        epochs=15,
        output_dir=tmp_path,
        name="fonts-to-mnist",
    )
    assert {p.name for p in result.run_dir.iterdir()} >= {"config.yaml", "metrics.json", "fit.log", "model"}
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert [row["method"] for row in metrics["candidates"]] == ["source-only", "coral"]
    assert result.method == "coral"  # the lower DEV risk; the target labels agree
    assert metrics["candidates"][1]["target"] > metrics["candidates"][0]["target"]
    assert metrics["domain_accuracy"]["adapted_features"] < metrics["domain_accuracy"]["embeddings"]
    report = (result.run_dir / "report.md").read_text()
    assert "adapt: coral" in report and "| source-only |" in report and "| coral |" in report
    assert "Confusion matrix" in report and (result.run_dir / "report.html").stat().st_size > 1000
    model = load_model(result.model_dir)
    sample = sorted(digits_recipe.target_dir.glob("*/*.png"))[::15][:10]
    # The saved head carries the target's input statistics: it predicts raw target images directly.
    predicted = model.predict_proba([str(p) for p in sample]).argmax(1)
    assert (np.array(model.class_names)[predicted] == [p.parent.name for p in sample]).mean() >= 0.3


@pytest.mark.slow
def test_adapt_on_an_unlabelled_flat_target_folder(digits_recipe, tmp_path) -> None:
    flat = tmp_path / "unlabelled"
    flat.mkdir()
    for path in sorted(digits_recipe.target_dir.glob("*/*.png"))[::3]:
        shutil.copy(path, flat / f"{path.parent.name}-{path.name}")
    result = adapt(
        source=digits_recipe.source_dir,
        target=flat,
        method="adabn",
        adabn_backbone=False,
        epochs=5,
        output_dir=tmp_path,
        name="flat",
    )
    assert "target" not in result.metrics  # no labels: only the unsupervised estimate
    assert np.isfinite(result.candidates[0]["estimated_target_risk"])


@pytest.mark.e2e
def test_tabular_credit_recipe_shift_and_adapt(tmp_path) -> None:
    source, target = credit_tables()
    source.sample(400, random_state=0).to_csv(tmp_path / "credit.csv", index=False)
    target.sample(400, random_state=0).to_csv(tmp_path / "lending.csv", index=False)
    report = shift(tmp_path / "credit.csv", tmp_path / "lending.csv", numeric_columns=CREDIT_COLUMNS)
    assert report.severity in {"large", "severe"}  # incomes and amounts in different units and markets
    assert report.label_shift > 0.15  # ~25% bad loans in credit_data, ~5% in lending_club
    result = adapt(
        source=tmp_path / "credit.csv",
        target=tmp_path / "lending.csv",
        numeric_columns=CREDIT_COLUMNS,
        method="source-only,adabn",
        epochs=5,
        output_dir=tmp_path,
        name="credit",
    )
    assert {row["method"] for row in result.metrics["candidates"]} == {"source-only", "adabn"}
    # The adapted table model is an ordinary saved model: predict and evaluate read the target CSV.
    frame = predict(result.model_dir, [tmp_path / "lending.csv"])
    assert len(frame) == 400 and set(frame["label"]) <= {"good", "bad"}
    chosen = next(row for row in result.metrics["candidates"] if row["method"] == result.method)
    checked = evaluate(result.model_dir, tmp_path / "lending.csv", label_column="label")
    assert checked["accuracy"] == pytest.approx(chosen["target"], abs=1e-9)  # same numbers as adapt's own


def test_adabn_replaces_batch_norm_statistics_with_the_domains_own(effnet, digits_folder) -> None:
    import copy

    backbone = copy.deepcopy(effnet)
    images = [str(p) for p in sorted(digits_folder.glob("*/*.png"))[:8]]
    first = batch_norm_layers(backbone)[0]
    seen = []
    hook = first.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach()))
    reestimate_batch_norm(backbone, images, batch_size=4)
    hook.remove()
    batch_means = torch.stack([x.mean(dim=(0, 2, 3)) for x in seen]).mean(0)
    assert torch.allclose(first.running_mean, batch_means, atol=1e-4)
    assert not torch.allclose(first.running_mean, batch_norm_layers(effnet)[0].running_mean, atol=1e-3)
    assert not first.training and first.momentum == batch_norm_layers(effnet)[0].momentum


def test_user_errors_are_clear(tmp_path) -> None:
    source, _ = credit_tables()
    source.head(50).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(ConfigError, match="--target-labels"):
        adapt(
            source=tmp_path / "a.csv",
            target=tmp_path / "a.csv",
            numeric_columns=CREDIT_COLUMNS,
            method="finetune",
            output_dir=tmp_path,
        )
    with pytest.raises(DataError, match="lacks the column"):
        shift(tmp_path / "a.csv", tmp_path / "a.csv", numeric_columns=["nope"])
    assert (
        run(
            [
                "adapt",
                "--source",
                str(tmp_path / "a.csv"),
                "--target",
                str(tmp_path / "a.csv"),
                "--numeric-columns",
                ",".join(CREDIT_COLUMNS),
                "--validator",
                "oracle",
            ]
        )
        == 2
    )


@pytest.mark.e2e
def test_shift_command_prints_the_verdict(tmp_path, capsys) -> None:
    source, target = credit_tables()
    source.head(200).to_csv(tmp_path / "credit.csv", index=False)
    target.head(200).to_csv(tmp_path / "lending.csv", index=False)
    code = run(
        [
            "shift",
            str(tmp_path / "credit.csv"),
            str(tmp_path / "lending.csv"),
            "--numeric-columns",
            ",".join(CREDIT_COLUMNS),
            "--output",
            str(tmp_path / "shift.json"),
        ]
    )
    assert code == 0
    assert "The shift is" in capsys.readouterr().out
    assert json.loads((tmp_path / "shift.json").read_text())["severity"] in {"large", "severe"}


@pytest.mark.e2e
def test_adapt_texts_with_a_labelled_target_reports_target_metrics(reviews_csv, tmp_path) -> None:
    import pandas as pd

    frame = pd.read_csv(reviews_csv)
    frame[frame["split"] == "train"].drop(columns="split").to_csv(tmp_path / "source.csv", index=False)
    frame[frame["split"] == "test"].drop(columns="split").to_csv(tmp_path / "target.csv", index=False)
    result = adapt(
        source=tmp_path / "source.csv",
        target=tmp_path / "target.csv",
        text_column="review",
        label_column="score",
        method="coral",
        epochs=3,
        max_length=64,
        output_dir=tmp_path,
        name="text",
    )
    assert result.metrics["target"]["num_examples"] == 40
    assert set(result.metrics["data"]["classes"]) == {"great", "other"}
    probabilities = load_model(result.model_dir).predict_proba(["Delicious, fresh and cheap."])
    assert probabilities.shape == (1, 2) and probabilities.sum() == pytest.approx(1.0, abs=1e-5)
