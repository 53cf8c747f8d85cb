"""`rank DATA --task detection`: the user's boxed objects, cut out of their own images, as a classification set.

A detector's backbone has two jobs, telling the classes apart and placing the boxes. The transferability scores
(LogME, LEEP, k-NN, ...) judge the first in seconds: each box becomes one crop (with a little context around it),
labelled with its class, and every candidate that can carry a detector embeds the crops once. Localisation is not
scored; benchmarks/detection_ranking.py measures how far the crop scores' order agrees with short real
fine-tunes of the detector.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.config import RunSpec
from transferkit.errors import ConfigError, DataError

CONTEXT = 0.1  # of the box's side, added on each side: the edge of an object is part of what a detector sees
MIN_SIDE = 4  # pixels; a smaller box carries too little of the object to embed


def box_crops(data: Any, folder: Path, *, context: float = CONTEXT) -> tuple[list[str], list[str]]:
    """One PNG per box of `data` (a DetectionData) written into `folder`, and its class name."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    inputs, labels = [], []
    for index, (path, boxes, classes) in enumerate(zip(data.images, data.boxes, data.labels, strict=True)):
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        for number, (box, label) in enumerate(zip(boxes, classes, strict=True)):
            x1, y1, x2, y2 = (float(v) for v in box)
            if min(x2 - x1, y2 - y1) < MIN_SIDE:
                continue
            pad_x, pad_y = (x2 - x1) * context, (y2 - y1) * context
            corners = (
                max(0, x1 - pad_x),
                max(0, y1 - pad_y),
                min(image.width, x2 + pad_x),
                min(image.height, y2 + pad_y),
            )
            crop = folder / f"{index:05d}_{number:03d}.png"
            image.crop(tuple(round(v) for v in corners)).save(crop)
            inputs.append(str(crop))
            labels.append(data.classes[int(label)])
    return inputs, labels


def detection_examples(spec: RunSpec, folder: Path) -> tuple[list[str], list[str], dict[str, Any]]:
    """The crops of every labelled (non-test) box of the detection data `spec` names, their classes and a summary."""
    from transferkit.detection.workflow import splits_for

    splits = splits_for(spec)
    labelled = [splits.train] + ([splits.valid] if splits.valid is not None else [])
    inputs, labels = [], []
    for number, part in enumerate(labelled):
        found = box_crops(part, folder / str(number))
        inputs, labels = inputs + found[0], labels + found[1]
    if len(set(labels)) < 2:
        raise DataError(
            f"{spec.data.path}: the boxes name {len(set(labels))} class(es); ranking backbones by how well they tell "
            "classes apart needs boxes of two or more."
        )
    images = sum(len(part) for part in labelled)
    return inputs, labels, {"images": images, "boxes": len(inputs), "crops": f"each box with {CONTEXT:.0%} context"}


def detection_candidates(candidates: list[Any] | None) -> list[Any]:
    """The candidates that can carry a detector (default: every offline one); another one is a ConfigError."""
    from transferkit.backbones import list_backbones
    from transferkit.detection.detectors import can_detect

    if candidates is None:
        return [entry.name for entry in list_backbones(modality="image") if entry.offline and can_detect(entry.name)]
    for candidate in candidates:
        if isinstance(candidate, str) and not can_detect(candidate):
            raise ConfigError(
                f"Candidate '{candidate}' cannot carry a detector; `transferkit recommend --modality image --detect` "
                "lists those that can."
            )
    return list(candidates)


def rank_detection(
    spec: RunSpec, *, candidates: list[Any] | None, budget: Any, by: str, names: list[str], folds: int, confirm: int
) -> Any:
    """The ranking of detection-capable candidates by their scores on the box crops of `spec`'s data."""
    import time
    from collections import Counter
    from tempfile import TemporaryDirectory

    from transferkit.ranking.ranker import _ranking_of, _score_within_budget, sort_rows  # its own row helpers

    if confirm:
        raise ConfigError("--confirm fine-tunes classifiers; for detection compare `transferkit fit` runs instead.")
    started = time.perf_counter()
    with TemporaryDirectory(prefix="transferkit-crops-") as scratch:
        inputs, labels, summary = detection_examples(spec, Path(scratch))
        rows = [
            _score_within_budget(candidate, inputs, labels, spec, budget=budget, folds=folds, names=names)
            for candidate in detection_candidates(candidates)
        ]
    data_info = {
        "source": str(spec.data.path),
        "modality": "image",
        "task": "detection",
        "examples": len(inputs),
        "classes": dict(sorted(Counter(labels).items())),
        "validation": summary,
    }
    ranking = _ranking_of(sort_rows(rows, by), by=by, budget=budget, data_info=data_info)
    ranking.caveats.append(
        "Detection: the scores judge each backbone's features on your box crops (what the object is), not how well "
        "a detector over it places boxes; benchmarks/detection_ranking.py measures how far the two agree."
    )
    ranking.seconds = time.perf_counter() - started
    return ranking
