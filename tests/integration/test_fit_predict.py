"""End to end on real data: fit -> run folder -> predict / evaluate, through the API and the CLI."""

import functools
import json

import pandas as pd
import pytest
import yaml

import transferkit
from transferkit.cli import run as cli


@pytest.fixture(scope="module")
def image_run(digits_folder, tmp_path_factory):
    output = tmp_path_factory.mktemp("runs")
    return transferkit.fit(digits_folder, strategy="probe", output_dir=str(output), name="digits", seed=1)


@pytest.mark.slow
def test_image_fit_writes_a_complete_run_folder(image_run):
    run_dir = image_run.run_dir
    assert {"config.yaml", "fit.log", "metrics.json", "model"} <= {p.name for p in run_dir.iterdir()}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    test = metrics["test"]
    assert test["accuracy"] > 0.8  # three digit classes from 17 images each; chance is 1/3
    assert set(test["per_class"]) == {"digit0", "digit1", "digit7"}
    assert {"precision", "recall", "f1", "support"} <= set(test["per_class"]["digit0"])
    assert len(test["confusion_matrix"]["matrix"]) == 3
    assert metrics["data"]["class_counts"] == {"digit0": 24, "digit1": 24, "digit7": 24}
    assert metrics["data"]["imbalance_ratio"] == 1.0
    assert metrics["backbone"]["spec"] == "bundled:efficientnet_lite0"
    assert metrics["backbone"]["embedding_runtime"] == "torch"  # images embed in fp32; only text picks bf16


@pytest.mark.slow
def test_config_in_run_folder_repeats_the_run(image_run, tmp_path):
    config = image_run.run_dir / "config.yaml"
    assert yaml.safe_load(config.read_text())["backbone"]["spec"] == "bundled:efficientnet_lite0"
    again = transferkit.fit(config=config, output_dir=str(tmp_path), name="again")
    first = json.loads((image_run.run_dir / "metrics.json").read_text())["test"]
    assert again.metrics["test"]["accuracy"] == first["accuracy"]
    assert again.metrics["test"]["confusion_matrix"] == first["confusion_matrix"]


@pytest.mark.slow
def test_predict_a_folder_to_csv(image_run, digits_folder, tmp_path):
    output = tmp_path / "predictions.csv"
    frame = transferkit.predict(image_run.model_dir, [digits_folder / "digit7"], output=output)
    saved = pd.read_csv(output)
    assert list(saved.columns) == ["input", "label", "prob_digit0", "prob_digit1", "prob_digit7"]
    assert len(saved) == 24 and (saved["label"] == "digit7").mean() > 0.8
    assert saved[["prob_digit0", "prob_digit1", "prob_digit7"]].sum(axis=1).round(5).eq(1).all()
    assert frame["label"].tolist() == saved["label"].tolist()


@pytest.mark.slow
def test_text_fit_with_split_column_and_evaluate(reviews_csv, tmp_path):
    result = transferkit.fit(
        reviews_csv,
        text_column="review",
        label_column="score",
        split_column="split",
        output_dir=str(tmp_path),
        name="reviews",
        max_length=64,
        strategy="probe",  # strategy auto has its own tests (tests/unit/strategies/test_auto.py)
    )
    assert result.metrics["data"]["splits"]["test"] == {"great": 20, "other": 20}
    assert result.metrics["test"]["balanced_accuracy"] > 0.6  # 51 training reviews, balanced test set
    test_rows = pd.read_csv(reviews_csv).query("split == 'test'")
    test_csv = tmp_path / "test.csv"
    test_rows.to_csv(test_csv, index=False)
    metrics = transferkit.evaluate(result.model_dir, test_csv, label_column="score")
    assert metrics["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    frame = transferkit.predict(result.model_dir, texts=["Absolutely delicious, will buy again!"])
    assert frame.loc[0, "label"] == "great"


@pytest.mark.slow
def test_demo_path_on_a_small_slice(tmp_path, capsys, monkeypatch):
    # Strategy auto spends its whole default budget (2 minutes) here: on 40 reviews the prior's fine-tune is scaled
    # to fill it. The command's path is the same on a 15-second budget (auto's budget has its own tests).
    monkeypatch.setattr(transferkit.api, "demo", functools.partial(transferkit.api.demo, budget_minutes=0.25))
    code = cli(["demo", "--limit", "40", "--test-limit", "60", "--output-dir", str(tmp_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "majority class" in printed and "Run folder:" in printed
    metrics = json.loads(next(tmp_path.glob("*/metrics.json")).read_text())
    assert metrics["test"]["num_examples"] == 60 and metrics["data"]["source"] == "builtin:fine-food"
    # 40 labelled: the smallest class (14) is too small to spare a validation split, so every row trains (issue 21)
    assert metrics["data"]["splits"]["train"] == {"great": 26, "other": 14} and "valid" not in metrics["data"]["splits"]


def test_cli_user_errors_exit_2_with_one_line(tmp_path, capsys):
    assert cli(["fit", str(tmp_path / "missing")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("Error: Data path") and "missing does not exist" in error and "\n" not in error
    assert cli(["fit", str(tmp_path), "--strategy", "tow-stage"]) == 2
    assert "must be one of" in capsys.readouterr().err
    assert cli(["fit", "--bogus"]) == 2
    assert cli(["predict", str(tmp_path), "x.csv"]) == 2
    assert "not a transferkit model folder" in capsys.readouterr().err


def test_cli_debug_shows_the_traceback(tmp_path, capsys):
    assert cli(["fit", str(tmp_path / "missing"), "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_cli_version_and_help(capsys):
    assert cli(["--version"]) == 0
    assert transferkit.__version__ in capsys.readouterr().out
    for command in ("fit", "predict", "evaluate", "backbones", "demo"):
        assert cli([command, "--help"]) == 0
        assert "Example:" in capsys.readouterr().out
