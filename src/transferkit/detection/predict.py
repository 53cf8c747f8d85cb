"""`predict` and `evaluate` for detection model folders: boxes to CSV and COCO-style JSON, drawn images, mAP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transferkit.detection.detectors import set_thresholds
from transferkit.detection.formats import IMAGE_SUFFIXES
from transferkit.detection.model_io import load_detection_model
from transferkit.detection.training import detect
from transferkit.errors import ConfigError, DataError
from transferkit.run_folder import check_output, write_json, write_output

COLUMNS = ["file", "class", "score", "x1", "y1", "x2", "y2"]


def image_inputs(inputs: list[str | Path]) -> list[Path]:
    """Image files, and the images inside folders (sorted); anything else is a DataError naming it."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            paths.append(path)
        else:
            raise DataError(f"{path} is not an image file or a folder of images; a detection model reads images.")
    if not paths:
        raise DataError("No images to predict; pass image files or folders.")
    return paths


def boxes_frame(paths: list[Path], predictions: list[dict[str, np.ndarray]], classes: list[str]) -> pd.DataFrame:
    rows = [
        [str(path), classes[int(label)], float(score), *(float(v) for v in box)]
        for path, p in zip(paths, predictions, strict=True)
        for box, score, label in zip(p["boxes"], p["scores"], p["labels"], strict=True)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def coco_results(frame: pd.DataFrame, classes: list[str]) -> list[dict[str, Any]]:
    """COCO's results format (bbox as x, y, width, height; category ids 1..K as the writer numbers them)."""
    return [
        {
            "file": row.file,
            "class": row[1],
            "category_id": classes.index(row[1]) + 1,
            "score": round(row.score, 5),
            "bbox": [round(row.x1, 2), round(row.y1, 2), round(row.x2 - row.x1, 2), round(row.y2 - row.y1, 2)],
        }
        for row in frame.itertuples(index=False)
    ]


def predict_detection(
    model_dir: str | Path,
    inputs: list[str | Path] | None,
    *,
    output: str | Path | None = None,
    batch_size: int = 8,
    score_threshold: float | None = None,
    nms_iou: float | None = None,
    draw: str | Path | None = None,
    **_: Any,
) -> pd.DataFrame:
    """Boxes for images: a frame (file, class, score, x1, y1, x2, y2), written to `output` (CSV) and beside it
    as COCO-style JSON (`output` with .json); `draw` saves each image with its boxes into that folder."""
    if output is not None:
        check_output(output)
    if draw is not None and Path(draw).exists() and not Path(draw).is_dir():
        raise ConfigError(f"--draw {draw} is a file; pass a folder for the drawn images.")
    loaded = load_detection_model(model_dir)
    set_thresholds(loaded.model, score=score_threshold, nms_iou=nms_iou)
    paths = image_inputs(list(inputs or []))
    from transferkit.progress import progress_bar

    with progress_bar("Detecting", total=len(paths)) as advance:
        predictions = detect(loaded.model, paths, batch_size=batch_size, progress=advance)
    frame = boxes_frame(paths, predictions, loaded.classes)
    if output is not None:
        write_output(output, frame.to_csv(index=False))
        write_output(Path(output).with_suffix(".json"), json.dumps(coco_results(frame, loaded.classes), indent=1))
    if draw is not None:
        from transferkit.detection.drawing import draw_boxes

        Path(draw).mkdir(parents=True, exist_ok=True)
        for path, prediction in zip(paths, predictions, strict=True):
            draw_boxes(path, prediction, loaded.classes).save(Path(draw) / f"{path.stem}.boxes.jpg", quality=90)
    return frame


def evaluate_detection(
    model_dir: str | Path, data: str | Path, *, output: str | Path | None = None, batch_size: int = 8, **options: Any
) -> dict[str, Any]:
    """COCO metrics of a saved detector on box-labelled data (COCO / VOC / YOLO, as `fit` reads)."""
    from transferkit.detection.data import aligned
    from transferkit.detection.formats import read_detection
    from transferkit.detection.training import evaluate_model

    if output is not None:
        check_output(output)
    loaded = load_detection_model(model_dir)
    labelled = aligned(read_detection(Path(data), format=options.get("format") or "auto"), loaded.classes)
    metrics = evaluate_model(loaded.model, labelled, batch_size=batch_size) | {"num_examples": len(labelled)}
    if output is not None:
        write_json(output, metrics)
    return metrics
