"""The transfer run's report: learning curves (source, transfer, scratch) with seed bands and the metrics table."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.evaluation.figures import figure_png, figures_available, img_tag, new_figure
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
    rows = []
    summary = metrics.get("summary") or {}
    for key in METRIC_ROWS:
        if key in summary:
            cell = summary[key]
            interval = f"[{_number(cell['low'])}, {_number(cell['high'])}]" if cell["low"] is not None else ""
            rows.append(f"<tr><td>{key}</td><td>{_number(cell['mean'])}</td><td>{interval}</td></tr>")
    flag = ""
    if summary.get("negative_transfer"):
        flag = "<p style='color:#b00'><b>NEGATIVE TRANSFER</b>: transfer gathered less reward than scratch.</p>"
    figure = img_tag(_plot(curves, title), "learning curves")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>{flag}{figure}"
        "<table border='1' cellpadding='4'><tr><th>metric</th><th>mean</th><th>95% interval</th></tr>"
        f"{''.join(rows)}</table><p>Threshold: {_number(metrics.get('threshold'))}; "
        f"{summary.get('seeds', 0)} seeds; {metrics['steps']} target steps.</p></body></html>"
    )
    path = run_dir / "report.html"
    write_atomic(path, page)
    return path
