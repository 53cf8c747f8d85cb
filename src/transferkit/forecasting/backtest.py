"""Rolling-origin backtests: several forecast origins at the end of each target series, every model scored on
the same origins against the same actual values.

Models train only on points before the first origin (the last `history` of them for the target); at each
later origin a model reads the actual values up to that origin (as any forecaster would in use) but its
weights stay as they were. The statistical baselines refit at every origin, which is their nature.

Example:
    >>> Backtest(horizon=5, origins=3).positions(100)
    [85, 90, 95]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from transferkit.forecasting import metrics
from transferkit.forecasting.engines import (
    BASELINES,
    baseline_models,
    neural_columns,
    quiet_lightning,
    statsforecast,
)
from transferkit.forecasting.table import ID, TIME, VALUE

SEPARATOR = "@"


@dataclass(frozen=True)
class Backtest:
    """`origins` forecast origins `step` apart (default: the horizon), the last one ending the series."""

    horizon: int
    origins: int = 5
    step: int | None = None
    season: int = 1

    def positions(self, length: int) -> list[int]:
        """Indices where forecasts start (each forecast covers `horizon` points from there)."""
        step = self.step or self.horizon
        last = length - self.horizon
        return [last - step * k for k in reversed(range(self.origins))]

    def test_points(self) -> int:
        """How many points at the end of a series the backtest holds out."""
        return (self.step or self.horizon) * (self.origins - 1) + self.horizon


def training_frame(frame: pd.DataFrame, *, backtest: Backtest, history: int | None) -> pd.DataFrame:
    """Each series' points before its first origin (only the last `history` of them when given)."""
    pieces = []
    for _key, piece in frame.groupby(ID, sort=False):
        before = piece.iloc[: len(piece) - backtest.test_points()]
        pieces.append(before.iloc[-history:] if history else before)
    return pd.concat(pieces, ignore_index=True)


def origin_histories(frame: pd.DataFrame, *, backtest: Backtest) -> pd.DataFrame:
    """One pseudo-series per (series, origin): the actual values before that origin, named 'series@origin'."""
    pieces = []
    for key, piece in frame.groupby(ID, sort=False):
        for position in backtest.positions(len(piece)):
            history = piece.iloc[:position].copy()
            history[ID] = f"{key}{SEPARATOR}{position}"
            pieces.append(history)
    return pd.concat(pieces, ignore_index=True)


def future_values(frame: pd.DataFrame, *, backtest: Backtest, columns: list[str]) -> pd.DataFrame:
    """The future covariates of the `horizon` steps after every origin, named like origin_histories' series (what
    a forecaster is told in advance: calendar, planned promotions)."""
    pieces = []
    for key, piece in frame.groupby(ID, sort=False):
        for position in backtest.positions(len(piece)):
            ahead = piece.iloc[position : position + backtest.horizon][[TIME, *columns]].copy()
            ahead.insert(0, ID, f"{key}{SEPARATOR}{position}")
            pieces.append(ahead)
    return pd.concat(pieces, ignore_index=True)


def neural_forecasts(
    forecaster: Any, histories: pd.DataFrame, *, level: int, future: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The fitted NeuralForecast's forecast (median and interval) from every origin's history (and, for a model
    with future covariates, their values over each origin's horizon)."""
    model = forecaster.models[0]
    with quiet_lightning():
        predicted = forecaster.predict(df=histories, futr_df=future if model.futr_exog_list else None)
    columns = neural_columns(model.alias or type(model).__name__, level)
    return predicted.rename(columns=columns)[[ID, TIME, "forecast", "lo", "hi"]]


def baseline_forecasts(
    histories: pd.DataFrame, *, horizon: int, freq: str | int, level: int, season: int
) -> dict[str, pd.DataFrame]:
    """statsforecast's naive, seasonal naive, AutoETS and AutoARIMA, refit at every origin, with their intervals."""
    models = baseline_models(season_length=season)
    engine = statsforecast().StatsForecast(models=models, freq=freq, n_jobs=1)
    predicted = engine.forecast(df=histories[[ID, TIME, VALUE]], h=horizon, level=[level])
    forecasts = {}
    for name in BASELINES:
        columns = {name: "forecast", f"{name}-lo-{level}": "lo", f"{name}-hi-{level}": "hi"}
        forecasts[name] = predicted.rename(columns=columns)[[ID, TIME, "forecast", "lo", "hi"]]
    return forecasts


def score(
    forecasts: pd.DataFrame, frame: pd.DataFrame, *, backtest: Backtest
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Per (series, origin) MASE, sMAPE and direction accuracy, and the forecasts joined to the actual values."""
    series = {str(key): piece[VALUE].to_numpy(dtype=float) for key, piece in frame.groupby(ID, sort=False)}
    rows, joined = [], []
    for pseudo, predicted in forecasts.groupby(ID, sort=False):
        key, position = str(pseudo).rsplit(SEPARATOR, 1)
        values, start = series[key], int(position)
        actual = values[start : start + backtest.horizon]
        forecast = predicted["forecast"].to_numpy(dtype=float)[: len(actual)]
        rows.append(
            {
                "series": key,
                "origin": start,
                "mase": metrics.mase(actual=actual, forecast=forecast, history=values[:start], season=backtest.season),
                "smape": metrics.smape(actual=actual, forecast=forecast),
                "direction_accuracy": metrics.direction_accuracy(
                    actual=actual, forecast=forecast, last=values[start - 1]
                ),
            }
        )
        joined.append(predicted.iloc[: len(actual)].assign(series=key, origin=start, actual=actual))
    return rows, pd.concat(joined, ignore_index=True)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over origins, per series and over all series."""
    table = pd.DataFrame(rows)
    per_series = {}
    for key, piece in table.groupby("series", sort=False):
        per_series[str(key)] = _means(piece.to_dict("records"))
    return {**_means(rows), "origins": len(rows), "per_series": per_series}


def _means(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    return {name: metrics.mean_or_none([row[name] for row in rows]) for name in ("mase", "smape", "direction_accuracy")}


def finite(values: list[float | None]) -> bool:
    return all(value is not None and np.isfinite(value) for value in values)
