"""report.html of a detection run: the COCO metrics, the per-class AP table, the precision-recall curves at
IoU 0.5 and a page of test images with the true boxes (white) and the predicted ones (colour per class)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from transferkit.detection.boxes import DetectionData
from transferkit.detection.drawing import draw_boxes
from transferkit.detection.training import detect
from transferkit.evaluation.figures import figure_png, figures_available, img_tag, new_figure
from transferkit.evaluation.report import html_page, html_table
from transferkit.run_folder import write_atomic

PAGE_IMAGES = 12
DRAW_SCORE = 0.3


def pr_curves_png(curves: dict[str, dict[str, list[float]]]) -> bytes | None:
    """Precision against recall per class at IoU 0.5 (COCO's 101-point interpolation)."""
    if not figures_available() or not curves:
        return None
    figure = new_figure()
    axis = figure.subplots()
    for name, curve in curves.items():
        axis.plot(curve["recall"], curve["precision"], label=name)
    axis.set(xlabel="recall", ylabel="precision", title="precision-recall at IoU 0.5", xlim=(0, 1), ylim=(0, 1.02))
    axis.legend(fontsize=8)
    return figure_png(figure)


def _tables(metrics: dict[str, Any]) -> list[str]:
    header = ["split", "images", "mAP@[.5:.95]", "mAP@.5", "mAP@.75", "AR@100"]
    rows = [
        [
            split,
            metrics[split]["num_examples"],
            *(metrics[split].get(k) for k in ("map", "map_50", "map_75", "mar_100")),
        ]
        for split in ("valid", "test")
        if split in metrics
    ]
    per_class = (metrics.get("test") or {}).get("per_class_ap") or {}
    class_rows = [
        [name, row.get("boxes"), row.get("ap"), row.get("ap_50"), row.get("recall_50")]
        for name, row in per_class.items()
    ]
    class_header = ["class", "true boxes", "AP@[.5:.95]", "AP@.5", "recall@.5"]
    return [html_table(header, rows), "<h2>Per class (test)</h2>", html_table(class_header, class_rows)]


def write_detection_report(run_dir: Path, *, model: Any, data: DetectionData, metrics: dict[str, Any]) -> Path:
    """Write run_dir/report.html (self-contained: figures and images inline)."""
    strategy = metrics.get("strategy", {})
    title = f"{strategy.get('detector')} on {metrics.get('backbone', {}).get('spec')} ({strategy.get('chosen')})"
    parts = _tables(metrics)
    curves = pr_curves_png((metrics.get("test") or {}).get("pr_curves") or {})
    if curves is not None:
        parts += ["<h2>Precision-recall curves</h2>", img_tag(curves, "precision-recall curves")]
    picked = data.subset(range(min(PAGE_IMAGES, len(data))))
    parts.append(f"<h2>Test images</h2><p>White: true boxes. Colour: predicted boxes scoring {DRAW_SCORE} or more.</p>")
    for index, prediction in enumerate(detect(model, picked)):
        truth = (picked.boxes[index], picked.labels[index])
        image = draw_boxes(picked.images[index], prediction, data.classes, truth=truth, min_score=DRAW_SCORE)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        parts.append(img_tag(buffer.getvalue(), picked.images[index].name, kind="jpeg"))
    path = Path(run_dir) / "report.html"
    write_atomic(path, html_page(f"Detection: {title}", "\n".join(parts)))
    return path
