"""Forecasting with transfer: pretrain a global NHITS or PatchTST (neuralforecast) on many source series, apply
it to new target series zero-shot, fine-tuned or head-only, and backtest it against a model trained on the
target alone and statsforecast's naive, seasonal naive, AutoETS and AutoARIMA forecasts (MASE, sMAPE, direction
accuracy).

A layer beside fit, adapt and rl (workflows); neuralforecast and statsforecast load only when a run starts
(the forecast extra).
"""

from typing import TYPE_CHECKING

from transferkit.lazy_exports import lazy_exports

# `transferkit forecast --help` imports this package through forecasting.cli: the names load on first use.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Backtest": "transferkit.forecasting.backtest",
        "direction_accuracy": "transferkit.forecasting.metrics",
        "mase": "transferkit.forecasting.metrics",
        "smape": "transferkit.forecasting.metrics",
        "SeriesTable": "transferkit.forecasting.table",
        "TableSpec": "transferkit.forecasting.table",
        "read_series": "transferkit.forecasting.table",
        "series_from_frame": "transferkit.forecasting.table",
        "STRATEGIES": "transferkit.forecasting.transfer",
        "ForecastResult": "transferkit.forecasting.workflow",
        "forecast": "transferkit.forecasting.workflow",
    },
    globals(),
)

if TYPE_CHECKING:  # static checkers and IDEs see the real imports
    from transferkit.forecasting.backtest import Backtest
    from transferkit.forecasting.metrics import direction_accuracy, mase, smape
    from transferkit.forecasting.table import SeriesTable, TableSpec, read_series, series_from_frame
    from transferkit.forecasting.transfer import STRATEGIES
    from transferkit.forecasting.workflow import ForecastResult, forecast
__all__ = [
    "STRATEGIES",
    "Backtest",
    "ForecastResult",
    "SeriesTable",
    "TableSpec",
    "direction_accuracy",
    "forecast",
    "mase",
    "read_series",
    "series_from_frame",
    "smape",
]
