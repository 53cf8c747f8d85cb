"""From a run's options to train / validation / test DetectionData: builtin scenes or the user's own files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transferkit.detection.boxes import DetectionData
from transferkit.detection.formats import read_detection
from transferkit.errors import DataError

BUILTINS = ("stamp-scenes", "coins")


@dataclass
class DetectionSplits:
    train: DetectionData
    valid: DetectionData | None
    test: DetectionData | None

    def summary(self) -> dict[str, object]:
        pairs = (("train", self.train), ("valid", self.valid), ("test", self.test))
        return {name: split.summary() for name, split in pairs if split is not None} | {"classes": self.train.classes}


def aligned(data: DetectionData, classes: list[str]) -> DetectionData:
    """`data` with its class indexes re-mapped onto `classes` (a test set may list its classes in another order);
    a class the model does not know is a DataError."""
    unknown = sorted(set(data.classes) - set(classes))
    present = {data.classes[i] for labels in data.labels for i in labels.tolist()}
    if unknown and present & set(unknown):
        raise DataError(f"{data.source} has class(es) {', '.join(unknown)} that the training data does not have.")
    mapping = np.array([classes.index(name) if name in classes else -1 for name in data.classes], dtype=np.int64)
    data.labels = [mapping[labels] if len(labels) else labels for labels in data.labels]
    data.classes = list(classes)
    return data


def builtin_splits(name: str, *, size: int) -> tuple[DetectionData, DetectionData]:
    """(train, test) of a builtin detection set."""
    if name == "stamp-scenes":
        from transferkit.detection.scenes import SceneOptions, stamp_scenes

        folder = stamp_scenes(SceneOptions(size=size))
        return read_detection(folder / "train", format="coco"), read_detection(folder / "test", format="coco")
    if name == "coins":
        from transferkit.detection.coins import coins_dataset

        data = coins_dataset()
        return data, data.subset([0])
    raise DataError(f"Unknown builtin detection dataset '{name}'; available: {', '.join(BUILTINS)}.")


def _carve(data: DetectionData, order: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held out) indexes: `fraction` of the images (at least one when the fraction is positive)."""
    if fraction <= 0 or len(order) < 4:
        return order, order[:0]
    count = max(1, round(len(order) * fraction))
    return order[count:], order[:count]


def load_splits(
    path: str,
    *,
    format: str = "auto",
    skip_bad: bool = False,
    test_path: str | None = None,
    valid_path: str | None = None,
    valid_fraction: float = 0.15,
    test_fraction: float = 0.15,
    limit: int | None = None,
    seed: int = 0,
    size: int = 320,
) -> DetectionSplits:
    """Read the data, then hold out test (unless given), cut training to `limit` images and hold out validation."""
    read = {"format": format, "skip_bad": skip_bad}
    if path.startswith("builtin:"):
        train, test = builtin_splits(path.removeprefix("builtin:"), size=size)
    else:
        train = read_detection(Path(path), **read)
        test = read_detection(Path(test_path), **read) if test_path else None
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    if test is None:
        order, held = _carve(train, order, test_fraction)
        test = train.subset(held) if len(held) else None
    if limit is not None:
        order = order[:limit]
    valid = read_detection(Path(valid_path), **read) if valid_path else None
    if valid is None:
        order, held = _carve(train, order, valid_fraction)
        valid = train.subset(held) if len(held) else None
    if not len(order):
        raise DataError(f"{path}: no images are left to train on; pass more images or lower --limit.")
    splits = DetectionSplits(train=train.subset(np.sort(order)), valid=valid, test=test)
    for other in (splits.valid, splits.test):
        if other is not None and other is not train:
            aligned(other, splits.train.classes)
    return splits
