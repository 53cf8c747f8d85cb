"""COCO metrics through torchmetrics: perfect boxes score 1, a miss lowers recall, a shifted box lowers mAP."""

from __future__ import annotations

import numpy as np

from transferkit.detection.boxes import DetectionData
from transferkit.detection.metrics import score_detections


def _data() -> DetectionData:
    boxes = [np.array([[10, 10, 50, 50], [60, 60, 90, 95]], dtype=np.float32), np.array([[5, 5, 40, 30]], np.float32)]
    labels = [np.array([0, 1]), np.array([1])]
    return DetectionData(images=[], sizes=[], boxes=boxes, labels=labels, classes=["cat", "dog"], source="t")


def _prediction(boxes, labels, scores=None):
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.full(len(boxes), 0.9) if scores is None else np.asarray(scores)
    return {"boxes": boxes, "labels": np.asarray(labels, dtype=np.int64), "scores": scores}


def test_perfect_boxes_score_one_and_each_class_is_reported():
    data = _data()
    result = score_detections([_prediction(b, lab) for b, lab in zip(data.boxes, data.labels, strict=True)], data)
    assert result["map"] == 1.0 and result["map_50"] == 1.0
    assert result["per_class_ap"]["cat"] == {"ap": 1.0, "ap_50": 1.0, "recall_50": 1.0, "boxes": 1}
    assert result["per_class_ap"]["dog"]["boxes"] == 2
    assert result["pr_curves"]["dog"]["precision"][0] == 1.0


def test_a_missed_dog_and_a_loose_box_cost_what_they_should():
    data = _data()
    missed = [_prediction(data.boxes[0], data.labels[0]), _prediction([], [])]
    result = score_detections(missed, data)
    assert result["per_class_ap"]["dog"]["recall_50"] == 0.5 and result["per_class_ap"]["cat"]["recall_50"] == 1.0
    loose = [_prediction(data.boxes[0] + [0, 0, 8, 8], data.labels[0]), _prediction(data.boxes[1], data.labels[1])]
    shifted = score_detections(loose, data)
    assert shifted["map_50"] == 1.0  # IoU still above 0.5
    assert shifted["map"] < 1.0  # but not above 0.75 ... 0.95
