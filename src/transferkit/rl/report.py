"""The transfer run's report: learning curves (source, transfer, scratch) with seed bands and the metrics table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from transferkit.evaluation.figures import figure_png, figures_available, img_tag, new_figure
from transferkit.evaluation.report import html_page, html_table, note_html
from transferkit.run_folder import write_atomic

ARM_COLOURS = {"source": "#7f7f7f", "transfer": "#1f77b4", "scratch": "#d62728"}
METRIC_ROWS = ("jumpstart", "asymptotic", "transfer_ratio", "area_ratio", "area_difference", "time_to_threshold_ratio")


def seed_bands(seeds: dict[str, list[dict[str, float]]]) -> dict[str, list[float]]:
    """Mean, min and max across seeds at the evaluation steps every seed has.

    Example:
        >>> seed_bands({"0": [{"step": 0, "mean": 1.0}], "1": [{"step": 0, "mean": 3.0}]})["mean"]
        [2.0]
    """
    by_seed = [{point["step"]: point["mean"] for point in curve} for curve in seeds.values() if curve]
    if not by_seed:
        return {"steps": [], "mean": [], "low": [], "high": []}
    steps = sorted(set.intersection(*(set(curve) for curve in by_seed)))
    values = np.array([[curve[step] for step in steps] for curve in by_seed], dtype=float)
    return {
        "steps": [float(step) for step in steps],
        "mean": values.mean(axis=0).tolist(),
        "low": values.min(axis=0).tolist(),
        "high": values.max(axis=0).tolist(),
    }


def _plot(curves: dict[str, Any], title: str) -> bytes | None:
    """A PNG of the learning curves, or None when matplotlib is not installed."""
    if not figures_available():
        return None
    figure = new_figure(7, 4)
    axis = figure.subplots()
    for arm, colour in ARM_COLOURS.items():
        if arm not in curves:
            continue
        band = curves[arm]["bands"]
        if not band["steps"]:
            continue
        axis.plot(band["steps"], band["mean"], color=colour, label=f"{arm} ({len(curves[arm]['seeds'])} seeds)")
        axis.fill_between(band["steps"], band["low"], band["high"], color=colour, alpha=0.2)
    axis.set_xlabel("environment steps")
    axis.set_ylabel("evaluation return")
    axis.set_title(title)
    axis.legend()
    return figure_png(figure)


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def write_report(run_dir: Path, *, metrics: dict[str, Any], curves: dict[str, Any]) -> Path:
    """Add seed bands to `curves` (in place) and write run_dir/report.html; return its path."""
    for arm in curves.values():
        arm["bands"] = seed_bands(arm["seeds"])
    title = f"{metrics['source_env']} -> {metrics['target_env']} ({metrics['strategy']})"
    summary = metrics.get("summary") or {}
    cells = {key: summary[key] for key in METRIC_ROWS if key in summary}
    interval = lambda c: "" if c["low"] is None else f"[{_number(c['low'])}, {_number(c['high'])}]"  # noqa: E731
    rows = [[key, _number(cell["mean"]), interval(cell)] for key, cell in cells.items()]
    negative = "NEGATIVE TRANSFER: transfer gathered less reward than scratch."
    body = (
        note_html(negative if summary.get("negative_transfer") else "", "bad")
        + img_tag(_plot(curves, title), "learning curves")
        + html_table(["metric", "mean", "95% interval"], rows)
        + f"<p>Threshold: {_number(metrics.get('threshold'))}; "
        f"{summary.get('seeds', 0)} seeds; {metrics['steps']} target steps.</p>"
    )
    path = run_dir / "report.html"
    write_atomic(path, html_page(title, body))
    return path
