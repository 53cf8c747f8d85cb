"""The data type is a default too (issue 21): a real table without a text column (scikit-learn's breast-cancer
measurements) is read as feature columns without --backbone tabular:..., and the run says what it inferred."""

from __future__ import annotations

import json

from sklearn.datasets import load_breast_cancer

from transferkit.cli import run as cli


def test_a_table_without_a_text_column_is_read_as_a_table_and_the_run_says_so(tmp_path, capsys):
    frame = load_breast_cancer(as_frame=True).frame.sample(n=160, random_state=0)
    frame["label"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    path = tmp_path / "cancer.csv"
    frame.to_csv(path, index=False)
    assert cli(["fit", str(path), "--budget-minutes", "0.05", "--output-dir", str(tmp_path / "runs")]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "Read cancer.csv as a table of 30 feature columns" in printed and "no 'text' column" in printed
    metrics = json.loads(next((tmp_path / "runs").iterdir()).joinpath("metrics.json").read_text())
    assert metrics["backbone"]["spec"].startswith("tabular:") and metrics["inferred"].startswith("Read cancer.csv")
    assert metrics["test"]["accuracy"] > 0.85
    scaling = metrics["temperature_scaling"]  # fitted on the validation outputs, scored on the test ones
    assert scaling["temperature"] > 0 and 0 <= scaling["ece_after"] <= 1 and scaling["fitted_on"] == "validation"
