"""report.html of a detection run: the COCO metrics, the per-class AP table, the precision-recall curves at
IoU 0.5 and a page of test images with the true boxes (white) and the predicted ones (colour per class)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from transferkit.detection.boxes import DetectionData
from transferkit.detection.drawing import draw_boxes
from transferkit.detection.training import detect
from transferkit.run_folder import write_atomic

PAGE_IMAGES = 12
DRAW_SCORE = 0.3


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def pr_curves_png(curves: dict[str, dict[str, list[float]]]) -> bytes | None:
    """Precision against recall per class at IoU 0.5 (COCO's 101-point interpolation)."""
    from transferkit.evaluation.figures import figures_available

    if not figures_available() or not curves:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.0, 3.6), dpi=100, layout="constrained")
    axis = figure.subplots()
    for name, curve in curves.items():
        axis.plot(curve["recall"], curve["precision"], label=name)
    axis.set_xlabel("recall")
    axis.set_ylabel("precision")
    axis.set_title("precision-recall at IoU 0.5")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.02)
    axis.legend(fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _img(data: bytes, kind: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/{kind};base64,{base64.b64encode(data).decode()}">'


def _tables(metrics: dict[str, Any]) -> list[str]:
    parts = []
    rows = "".join(
        f"<tr><td>{split}</td><td>{metrics[split]['num_examples']}</td>"
        + "".join(f"<td>{_number(metrics[split].get(k))}</td>" for k in ("map", "map_50", "map_75", "mar_100"))
        + "</tr>"
        for split in ("valid", "test")
        if split in metrics
    )
    parts.append(
        "<table><tr><th>split</th><th>images</th><th>mAP@[.5:.95]</th><th>mAP@.5</th><th>mAP@.75</th>"
        f"<th>AR@100</th></tr>{rows}</table>"
    )
    per_class = (metrics.get("test") or {}).get("per_class_ap") or {}
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{row.get('boxes', 'n/a')}</td><td>{_number(row.get('ap'))}</td>"
        f"<td>{_number(row.get('ap_50'))}</td><td>{_number(row.get('recall_50'))}</td></tr>"
        for name, row in per_class.items()
    )
    parts.append(
        "<h2>Per class (test)</h2><table><tr><th>class</th><th>true boxes</th><th>AP@[.5:.95]</th><th>AP@.5</th>"
        f"<th>recall@.5</th></tr>{rows}</table>"
    )
    return parts


def write_detection_report(run_dir: Path, *, model: Any, data: DetectionData, metrics: dict[str, Any]) -> Path:
    """Write run_dir/report.html (self-contained: figures and images inline)."""
    head = (
        "<!doctype html><meta charset='utf-8'><title>transferkit detection report</title><style>body{font-family:"
        "sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
        "img{margin:4px;max-width:320px}</style>"
    )
    strategy = metrics.get("strategy", {})
    title = f"{strategy.get('detector')} on {metrics.get('backbone', {}).get('spec')} ({strategy.get('chosen')})"
    parts = [head, f"<h1>Detection: {html.escape(title)}</h1>", *_tables(metrics)]
    curves = pr_curves_png((metrics.get("test") or {}).get("pr_curves") or {})
    if curves is not None:
        parts += ["<h2>Precision-recall curves</h2>", _img(curves, "png", "precision-recall curves")]
    picked = data.subset(range(min(PAGE_IMAGES, len(data))))
    predictions = detect(model, picked)
    parts.append(f"<h2>Test images</h2><p>White: true boxes. Colour: predicted boxes scoring {DRAW_SCORE} or more.</p>")
    for index, prediction in enumerate(predictions):
        image = draw_boxes(
            picked.images[index],
            prediction,
            data.classes,
            truth=(picked.boxes[index], picked.labels[index]),
            min_score=DRAW_SCORE,
        )
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        parts.append(_img(buffer.getvalue(), "jpeg", picked.images[index].name))
    path = Path(run_dir) / "report.html"
    write_atomic(path, "\n".join(parts))
    return path
