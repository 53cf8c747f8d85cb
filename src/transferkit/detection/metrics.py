"""COCO detection metrics through torchmetrics' MeanAveragePrecision (pycocotools backend): mAP@[.5:.95],
mAP@.5, per-class AP and recall, and the precision-recall curve per class at IoU 0.5."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def new_metric():
    from torchmetrics.detection import MeanAveragePrecision

    return MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=True, extended_summary=True)


def as_target(boxes: np.ndarray, labels: np.ndarray) -> dict[str, torch.Tensor]:
    """Ground truth in torchmetrics' form; labels here are class indexes (0-based), as in DetectionData."""
    return {
        "boxes": torch.as_tensor(np.asarray(boxes), dtype=torch.float32).reshape(-1, 4),
        "labels": torch.as_tensor(np.asarray(labels), dtype=torch.int64),
    }


def as_prediction(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> dict[str, torch.Tensor]:
    return {**as_target(boxes, labels), "scores": torch.as_tensor(np.asarray(scores), dtype=torch.float32)}


def _value(x: Any) -> float | None:
    number = float(x)
    return None if number < 0 else round(number, 4)  # torchmetrics marks "no such boxes" with -1


# Long: unpacks COCOeval's precision / recall arrays into per-class rows and curves, one field at a time.
def summarise(metric, classes: list[str]) -> dict[str, Any]:
    """{"map", "map_50", "map_75", "mar_100", "per_class_ap": {class: {ap, ap_50, recall_50, boxes}}, "pr_curves"}.

    Example:
        >>> m = new_metric()
        >>> m.update([as_prediction(np.array([[0, 0, 10, 10]]), np.array([0.9]), np.array([0]))],
        ...          [as_target(np.array([[0, 0, 10, 10]]), np.array([0]))])
        >>> summarise(m, ["cat"])["map_50"]
        1.0
    """
    result = metric.compute()
    ids = [int(c) for c in torch.atleast_1d(result["classes"]).tolist()]
    precision = result["precision"].numpy()  # (iou, recall, class, area, max dets)
    recall = result["recall"].numpy()  # (iou, class, area, max dets)
    per_class_map = torch.atleast_1d(result["map_per_class"]).tolist()
    recall_grid = np.linspace(0, 1, 101)
    per_class: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    for k, class_id in enumerate(ids):
        if not 0 <= class_id < len(classes):
            continue
        name = classes[class_id]
        p50 = precision[0, :, k, 0, -1]
        valid = p50 > -1
        per_class[name] = {
            "ap": _value(per_class_map[k]) if k < len(per_class_map) else None,
            "ap_50": round(float(p50[valid].mean()), 4) if valid.any() else None,
            "recall_50": _value(recall[0, k, 0, -1]),
        }
        curves[name] = {"recall": recall_grid[valid].round(3).tolist(), "precision": p50[valid].round(4).tolist()}
    return {
        "map": _value(result["map"]),
        "map_50": _value(result["map_50"]),
        "map_75": _value(result["map_75"]),
        "mar_100": _value(result["mar_100"]),
        "per_class_ap": per_class,
        "pr_curves": curves,
    }


def score_detections(
    predictions: list[dict[str, np.ndarray]], data, *, classes: list[str] | None = None
) -> dict[str, Any]:
    """Metrics of `predictions` (one dict of boxes / scores / labels per image of `data`) against its boxes."""
    metric = new_metric()
    metric.update(
        [as_prediction(p["boxes"], p["scores"], p["labels"]) for p in predictions],
        [as_target(b, lab) for b, lab in zip(data.boxes, data.labels, strict=True)],
    )
    summary = summarise(metric, classes or data.classes)
    for name, count in data.class_counts().items():
        summary["per_class_ap"].setdefault(name, {"ap": None, "ap_50": None, "recall_50": None})["boxes"] = count
    summary["images"] = len(data)
    return summary
