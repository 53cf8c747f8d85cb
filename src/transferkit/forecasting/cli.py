"""`transferkit forecast`: parsing and printing only; the work is transferkit.forecasting.forecast.

Imports only typer and rich, so `transferkit --help` works without the forecast extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from transferkit.terminal import stdout_console

EXAMPLE = "Example: transferkit forecast ftse.csv --wide --source dax_smi_cac.csv --horizon 5 --history 250"
out = stdout_console()


def _names(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _freq(value: str | None) -> str | int | None:
    return int(value) if value is not None and value.strip().isdigit() else value


def _table(metrics: dict[str, Any]) -> Table:
    table = Table(title=f"Backtest: {metrics['backtest']['origins']} origins, horizon {metrics['horizon']}")
    for column in ("model", "MASE", "sMAPE %", "direction", "beats naive"):
        table.add_column(column)
    for name, summary in sorted(metrics["models"].items(), key=lambda item: item[1]["mase"]):
        direction = summary["direction_accuracy"]
        beats = "-" if name == "Naive" else ("yes" if metrics["beats_naive"][name] else "no")
        row = [f"{summary['mase']:.3f}", f"{summary['smape']:.2f}", "n/a" if direction is None else f"{direction:.2f}"]
        table.add_row(name, *row, beats)
    return table


def forecast(
    command: typer.Context,
    data: Path = typer.Argument(..., help="Target series: a long table (CSV / Parquet), or a wide one with --wide."),
    source: Path = typer.Option(None, help="Source series to pretrain on (same layout as DATA)."),
    wide: bool = typer.Option(False, "--wide", help="One column per series (and an optional --time-column)."),
    id_column: str = typer.Option("series_id", help="Long table: the series id column."),
    time_column: str = typer.Option("timestamp", help="The timestamp column (dates or integer steps)."),
    value_column: str = typer.Option("value", help="Long table: the value column."),
    covariate: list[str] = typer.Option(
        None, help="Long table: a covariate column known up to each origin (repeatable)."
    ),
    future_covariate: list[str] = typer.Option(
        None, help="Long table: a covariate column known ahead, over the horizon too (calendar; repeatable)."
    ),
    model: str = typer.Option("nhits", help="Neural model: nhits or patchtst (neuralforecast)."),
    series: str = typer.Option(None, help="Only these target series, comma-separated."),
    source_series: str = typer.Option(None, help="Only these source series, comma-separated."),
    freq: str = typer.Option(None, help="Time step: a pandas frequency (D, B, h, W, MS) or an integer [inferred]."),
    horizon: int = typer.Option(5, help="Steps to forecast."),
    context: int = typer.Option(None, help="Input window of the neural model [4 x horizon]."),
    strategy: str = typer.Option(None, help="zero-shot, finetune, head-only or target-only [finetune with --source]."),
    history: int = typer.Option(None, help="Target points (before the first origin) to train on [all]."),
    origins: int = typer.Option(5, help="Rolling backtest origins."),
    step: int = typer.Option(None, help="Steps between origins [the horizon]."),
    season: int = typer.Option(1, help="Season length for seasonal naive, AutoETS, AutoARIMA and MASE's scale."),
    steps: int = typer.Option(300, help="Training steps of the pretrained (and target-only) model."),
    finetune_steps: int = typer.Option(100, help="Training steps on the target for finetune / head-only."),
    no_target_only: bool = typer.Option(False, "--no-target-only", help="Skip the target-only comparison model."),
    level: int = typer.Option(80, help="Prediction interval coverage in percent."),
    seed: int = typer.Option(0, help="Random seed."),
    name: str = typer.Option(None, help="Run name (folder under --output-dir)."),
    output_dir: str = typer.Option("runs", help="Where run folders go."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder."),
) -> None:
    """Forecast target series with a model pretrained on source series; backtest it against naive, AutoETS and
    AutoARIMA."""
    from transferkit.forecasting.workflow import forecast as run_forecast

    # Each flag has the name of forecast()'s keyword, but for those parsed or renamed here.
    options = {key: value for key, value in command.params.items() if key not in ("covariate", "future_covariate")}
    options |= {
        "covariates": tuple(covariate or ()),
        "future_covariates": tuple(future_covariate or ()),
        "series": _names(series),
        "source_series": _names(source_series),
        "freq": _freq(freq),
        "compare_target_only": not options.pop("no_target_only"),
    }
    result = run_forecast(**options)
    metrics = result.metrics
    filled = {key: count for key, count in metrics["filled_timestamps"]["target"].items() if count}
    if filled:
        out.print(f"Missing timestamps filled (last value carried forward): {filled}", markup=False)
    out.print(_table(metrics))
    out.print(metrics["verdict"], markup=False, highlight=False)
    out.print(f"Run folder: {result.run_dir} (report.html, metrics.json, model/)", markup=False, highlight=False)
