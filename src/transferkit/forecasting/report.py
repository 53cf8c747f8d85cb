"""The forecast run's report.html: the verdict against the naive forecast, the backtest table and a plot of
each target series' last origin with the forecasts and their intervals (matplotlib, the report extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from transferkit.evaluation.figures import figure_png, figures_available, img_tag, new_figure
from transferkit.evaluation.report import html_page, html_table, note_html
from transferkit.forecasting.table import ID, VALUE
from transferkit.run_folder import write_atomic

PLOTTED = ("Naive", "AutoETS")  # drawn beside the run's strategy
SHOWN_HISTORY = 60  # points of history before the last origin in the plot


def _table(metrics: dict[str, Any]) -> str:
    beats = {name: "yes" if won else "no" for name, won in metrics["beats_naive"].items()} | {"Naive": "-"}
    rows = [
        [name, summary["mase"], summary["smape"], summary["direction_accuracy"], beats[name]]
        for name, summary in sorted(metrics["models"].items(), key=lambda item: item[1]["mase"])
    ]
    return html_table(["model", "MASE", "sMAPE %", "direction accuracy", "beats naive"], rows)


def _plot(forecasts: pd.DataFrame, history: pd.DataFrame, *, key: str, strategy: str) -> bytes | None:
    """A PNG of one series' last backtest origin, or None without matplotlib."""
    if not figures_available():
        return None
    shown = forecasts[forecasts["series"] == key]
    last = shown[shown["origin"] == shown["origin"].max()]
    values = history.loc[history[ID] == key, VALUE].to_numpy()
    origin = int(last["origin"].iloc[0])
    figure = new_figure(7, 3.6)
    axis = figure.subplots()
    start = max(origin - SHOWN_HISTORY, 0)
    end = min(origin + int((last["model"] == strategy).sum()), len(values))
    axis.plot(range(start, end), values[start:end], color="black", label="actual")
    for name in (strategy, *PLOTTED):
        rows = last[last["model"] == name]
        steps = range(origin, origin + len(rows))
        (line,) = axis.plot(steps, rows["forecast"], label=name)
        if name == strategy:
            axis.fill_between(
                steps, rows["lo"], rows["hi"], color=line.get_color(), alpha=0.2, label=f"{name} interval"
            )
    axis.set_title(f"{key}: last backtest origin")
    axis.legend(fontsize=8)
    return figure_png(figure)


def write_report(run_dir: Path, *, metrics: dict[str, Any], forecasts: pd.DataFrame, history: pd.DataFrame) -> Path:
    """Write run_dir/report.html (self-contained: inline CSS, figures as base64 PNG); return its path."""
    parts = [
        note_html(metrics["verdict"], "bad" if metrics["naive_wins"] else "good"),
        f"<p class='note'>{metrics['backtest']['origins']} rolling origins, horizon {metrics['horizon']}, "
        f"context {metrics['context']}; MASE below 1 beats the random walk's in-sample one-step error.</p>",
        "<h2>Backtest</h2>",
        _table(metrics),
        "<h2>Forecasts</h2>",
    ]
    filled = {key: count for key, count in metrics["filled_timestamps"]["target"].items() if count}
    if filled:
        parts.append(note_html(f"Missing timestamps filled (last value carried): {filled}"))
    for key in metrics["target_series"]:
        png = _plot(forecasts, history, key=key, strategy=metrics["strategy"])
        if png is None:
            parts.append("<p class='note'>Install matplotlib (pip install 'transferkit[report]') for figures.</p>")
            break
        parts.append(img_tag(png, f"{key} forecasts"))
    path = run_dir / "report.html"
    write_atomic(path, html_page(f"Forecast backtest: {metrics['strategy']}", "".join(parts)))
    return path
