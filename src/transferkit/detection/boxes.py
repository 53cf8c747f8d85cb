"""Box-labelled images in one shape, whatever file format they came from, and the checks every box passes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from transferkit.errors import DataError

logger = logging.getLogger("transferkit.detection")

EDGE_TOLERANCE = 1.0  # pixels: annotation tools round boxes onto the border; more than this is outside


@dataclass
class RawBox:
    """One box as a file states it: pixel corners (x1, y1, x2, y2) and a class name, before any check."""

    x1: float
    y1: float
    x2: float
    y2: float
    name: str
    where: str  # file (and line / index) that holds it, for the error message


@dataclass
class RawImage:
    """One annotated image as a file states it; `size` is (width, height) of the real file."""

    path: Path
    size: tuple[int, int]
    boxes: list[RawBox] = field(default_factory=list)
    annotated: bool = True  # False: no annotation names this image (a warning, it trains as background)


@dataclass
class DetectionData:
    """Images with boxes (x1, y1, x2, y2 in pixels) and class indexes into `classes`.

    Example:
        >>> data = DetectionData(images=[Path("a.jpg")], sizes=[(64, 48)], boxes=[np.array([[1, 2, 30, 40.0]])],
        ...                      labels=[np.array([0])], classes=["cat"], source="demo")
        >>> len(data), data.box_count
        (1, 1)
    """

    images: list[Path]
    sizes: list[tuple[int, int]]
    boxes: list[np.ndarray]
    labels: list[np.ndarray]
    classes: list[str]
    source: str
    format: str = "coco"
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def box_count(self) -> int:
        return int(sum(len(b) for b in self.boxes))

    def subset(self, indexes: list[int] | np.ndarray) -> DetectionData:
        picked = [int(i) for i in indexes]
        return DetectionData(
            images=[self.images[i] for i in picked],
            sizes=[self.sizes[i] for i in picked],
            boxes=[self.boxes[i] for i in picked],
            labels=[self.labels[i] for i in picked],
            classes=list(self.classes),
            source=self.source,
            format=self.format,
        )

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(np.concatenate([*self.labels, np.zeros(0, int)]).astype(int), minlength=len(self.classes))
        return {name: int(count) for name, count in zip(self.classes, counts, strict=True)}

    def summary(self) -> dict[str, object]:
        return {"images": len(self), "boxes": self.box_count, "classes": self.class_counts(), "format": self.format}


def box_problem(box: RawBox, size: tuple[int, int], classes: list[str]) -> str | None:
    """Why a box cannot train (outside the image, no area, unknown class), or None when it is fine."""
    width, height = size
    values = (box.x1, box.y1, box.x2, box.y2)
    if not all(np.isfinite(values)):
        return "a coordinate is not a finite number"
    if box.x2 <= box.x1 or box.y2 <= box.y1:
        return f"zero or negative area ({box.x1:g}, {box.y1:g}, {box.x2:g}, {box.y2:g})"
    t = EDGE_TOLERANCE
    if box.x1 < -t or box.y1 < -t or box.x2 > width + t or box.y2 > height + t:
        return f"outside the {width}x{height} image ({box.x1:g}, {box.y1:g}, {box.x2:g}, {box.y2:g})"
    if box.name not in classes:
        return f"class '{box.name}' is not in the class list ({', '.join(classes[:10])})"
    return None


def validated(
    raw: list[RawImage], classes: list[str], *, source: str, format: str, skip_bad: bool = False
) -> DetectionData:
    """Check every box; bad ones raise one DataError listing file and reason (or, with `skip_bad`, are dropped
    with a warning). Images no annotation names are kept as background, with a warning naming them."""
    problems = [
        (box, why) for image in raw for box in image.boxes if (why := box_problem(box, image.size, classes)) is not None
    ]
    listed = "; ".join(f"{box.where}: {why}" for box, why in problems[:10])
    more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
    if problems and not skip_bad:
        raise DataError(
            f"{len(problems)} bad box(es) in {source}: {listed}{more}. Fix them, or pass --skip-bad-files to "
            "leave them out."
        )
    bad = {id(box) for box, _ in problems}
    warnings = [f"left out {len(problems)} bad box(es): {listed}{more}"] if problems else []
    unannotated = [image.path.name for image in raw if not image.annotated]
    if unannotated:
        names = ", ".join(unannotated[:5]) + (f" (and {len(unannotated) - 5} more)" if len(unannotated) > 5 else "")
        warnings.append(f"{len(unannotated)} image(s) in {source} have no annotation and train as background: {names}")
    for line in warnings:
        logger.warning("%s", line)
    index = {name: i for i, name in enumerate(classes)}
    boxes, labels = [], []
    for image in raw:
        kept = [box for box in image.boxes if id(box) not in bad]
        width, height = image.size
        corners = np.array([[b.x1, b.y1, b.x2, b.y2] for b in kept], dtype=np.float32).reshape(-1, 4)
        corners[:, [0, 2]] = corners[:, [0, 2]].clip(0, width)  # within the edge tolerance: onto the border
        corners[:, [1, 3]] = corners[:, [1, 3]].clip(0, height)
        boxes.append(corners)
        labels.append(np.array([index[b.name] for b in kept], dtype=np.int64))
    if not raw:
        raise DataError(f"{source} holds no images.")
    return DetectionData(
        images=[image.path for image in raw],
        sizes=[image.size for image in raw],
        boxes=boxes,
        labels=labels,
        classes=list(classes),
        source=source,
        format=format,
        warnings=warnings,
    )
