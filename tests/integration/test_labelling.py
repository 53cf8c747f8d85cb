"""The labelling commands end to end on real fine-food reviews with the bundled MiniLM, through the CLI:
zero-shot, a cold-start suggestion, an audit that finds a train/test leak, and fit --drop-suspect."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from transferkit.cli import run

pytest.importorskip("cleanlab")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tables(reviews_csv, tmp_path_factory):
    frame = pd.read_csv(reviews_csv)
    folder = tmp_path_factory.mktemp("labelling")
    train, test = frame[frame.split == "train"], frame[frame.split == "test"].copy()
    test.iloc[0, test.columns.get_loc("review")] = train.review.iloc[3]  # the same review in train and test: a leak
    train.drop(columns="split").to_csv(folder / "train.csv", index=False)
    test.drop(columns="split").to_csv(folder / "test.csv", index=False)
    pool = train.drop(columns="split").copy()
    pool.loc[pool.index[::2], "score"] = None  # half the rows not labelled yet
    pool.to_csv(folder / "pool.csv", index=False)
    return folder


def test_zero_shot_classifies_clear_reviews_from_descriptions(tables, tmp_path):
    clear = pd.DataFrame({"review": ["Delicious, I love it, five stars!", "Arrived broken and tasted awful."]})
    clear.to_csv(tmp_path / "clear.csv", index=False)
    labels = "great: a review praising the product, other: a complaint about the product"
    argv = ["zero-shot", str(tmp_path / "clear.csv"), "--text-column", "review", "--labels", labels]
    assert run([*argv, "--output-dir", str(tmp_path / "runs"), "--name", "zs"]) == 0
    predictions = pd.read_csv(tmp_path / "runs" / "zs" / "predictions.csv")
    assert predictions["label"].tolist() == ["great", "other"]
    assert (tmp_path / "runs" / "zs" / "report.html").read_text().count("Least sure") == 1


def test_cold_start_suggests_only_unlabelled_rows(tables, tmp_path):
    argv = ["suggest", str(tables / "pool.csv"), "--text-column", "review", "--label-column", "score", "--n", "5"]
    assert run([*argv, "--output-dir", str(tmp_path / "runs"), "--name", "cold"]) == 0
    picked = pd.read_csv(tmp_path / "runs" / "cold" / "to_label.csv")
    assert len(picked) == 5 and set(picked["source_row"]) <= set(range(0, 60, 2))
    assert picked["score"].isna().all()  # the column to fill in


def test_uncertainty_without_a_run_is_a_usage_error(tables, tmp_path, capsys):
    argv = ["suggest", str(tables / "pool.csv"), "--text-column", "review", "--strategy", "margin"]
    assert run([*argv, "--output-dir", str(tmp_path / "runs")]) == 2
    assert "kcenter" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_audit_finds_the_review_leaking_into_test(tables, tmp_path):
    argv = ["audit", str(tables / "train.csv"), "--test-data", str(tables / "test.csv"), "--text-column", "review"]
    assert run([*argv, "--label-column", "score", "--output-dir", str(tmp_path / "runs"), "--name", "audit"]) == 0
    issues = pd.read_csv(tmp_path / "runs" / "audit" / "issues.csv")
    leaks = issues[issues.issue == "leak"]
    assert {3, 0} <= set(leaks.source_row) | set(leaks.other_row)
    metrics = json.loads((tmp_path / "runs" / "audit" / "metrics.json").read_text())
    assert metrics["leaking_pairs"] >= 1 and metrics["rows"] == 100


def test_fit_drop_suspect_trains_with_and_without_the_flagged_rows(tables, tmp_path):
    argv = ["fit", str(tables / "train.csv"), "--text-column", "review", "--label-column", "score"]
    argv += ["--test-data", str(tables / "test.csv"), "--strategy", "probe", "--drop-suspect"]
    assert run([*argv, "--output-dir", str(tmp_path / "runs"), "--name", "ds"]) == 0
    folder = tmp_path / "runs" / "ds"
    summary = json.loads((folder / "metrics.json").read_text())
    kept = len(pd.read_csv(folder / "train_clean.csv"))
    assert kept == len(pd.read_csv(folder / "train_all.csv")) - summary["flagged_rows"]
    assert summary["accuracy_all"] is not None and summary["accuracy_clean"] is not None
    assert (folder / "clean" / "model").is_dir() and (folder / "all" / "model").is_dir()


def test_the_loop_suggest_label_take_back_suggest_again(tables, tmp_path, capsys):
    """fit on 20 reviews -> suggest 12 -> fill in 10 (2 left empty) -> fit RUN --add-labels -> suggest again."""
    runs, truth = tmp_path / "runs", pd.read_csv(tables / "train.csv")
    first_rows = truth.groupby("score").head(10)
    first_rows.to_csv(tmp_path / "first.csv", index=False)
    truth = truth.drop(first_rows.index).reset_index(drop=True)
    truth.assign(score=None).to_csv(tmp_path / "pool.csv", index=False)
    columns = ["--text-column", "review", "--label-column", "score", "--output-dir", str(runs)]
    first = ["fit", str(tmp_path / "first.csv"), "--test-data", str(tables / "test.csv"), "--strategy", "probe"]
    first += ["--weight-decay", "0.01"]  # fixed (no cross-validated choice): quicker; the new run inherits it
    assert run([*first, *columns, "--name", "reviews"]) == 0
    assert (
        run(["suggest", str(runs / "reviews"), str(tmp_path / "pool.csv"), "--n", "12", *columns, "--name", "s1"]) == 0
    )
    labelled = pd.read_csv(runs / "s1" / "to_label.csv")
    labelled["score"] = [truth.score.iloc[row] for row in labelled.source_row]
    labelled.loc[labelled.index[:2], "score"] = None  # not labelled yet: skipped
    labelled = pd.concat([labelled, labelled.iloc[[5]]])  # a row twice: added once
    labelled.to_csv(tmp_path / "labelled.csv", index=False)
    bad = labelled.assign(score=labelled.score.fillna("grate"))
    bad.to_csv(tmp_path / "bad.csv", index=False)
    assert run(["fit", str(runs / "reviews"), "--add-labels", str(tmp_path / "bad.csv")]) == 2
    assert "bad.csv row 2" in capsys.readouterr().err and not (runs / "reviews-round2").exists()
    assert run(["fit", str(runs / "reviews"), "--add-labels", str(tmp_path / "labelled.csv")]) == 0
    assert "Added 10 labelled rows" in capsys.readouterr().out
    new = runs / "reviews-round2"
    record = json.loads((new / "metrics.json").read_text())["added_labels"]
    assert (record["added"], record["unlabelled"], record["already_in_training"]) == (10, 2, 1)
    assert len(pd.read_csv(new / "data" / "train.csv")) == 30 and record["earlier_accuracy"] is not None
    assert len(pd.read_csv(new / "data" / "test.csv")) == 40  # the earlier run's test rows, unchanged
    assert "round2/data/train.csv" in (new / "config.yaml").read_text()  # the run repeats with --config
    # the pool is unchanged: the rows taken back are in the new run's data, so they are not suggested again
    assert run(["suggest", str(new), str(tmp_path / "pool.csv"), "--n", "5", *columns, "--name", "s2"]) == 0
    assert not set(pd.read_csv(runs / "s2" / "to_label.csv").review) & set(labelled.dropna().review)
    assert json.loads((runs / "s2" / "metrics.json").read_text())["already_in_run"] == 10
