"""Boxes drawn on images with PIL: predictions in colour per class, ground truth in white dashes-free outline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4")


def draw_boxes(
    path: str | Path,
    prediction: dict[str, np.ndarray],
    classes: list[str],
    *,
    truth: tuple[np.ndarray, np.ndarray] | None = None,
    min_score: float = 0.0,
) -> Image.Image:
    """The image with predicted boxes (class colour, 'class score') and, when given, true boxes (white)."""
    with Image.open(path) as source:
        image = source.convert("RGB")
    canvas = ImageDraw.Draw(image)
    if truth is not None:
        for box in np.asarray(truth[0]).reshape(-1, 4):
            canvas.rectangle(box.tolist(), outline="white", width=3)
    for box, score, label in zip(prediction["boxes"], prediction["scores"], prediction["labels"], strict=True):
        if score < min_score:
            continue
        colour = PALETTE[int(label) % len(PALETTE)]
        x1, y1, x2, y2 = (float(v) for v in box)
        canvas.rectangle((x1, y1, x2, y2), outline=colour, width=2)
        name = classes[int(label)] if 0 <= int(label) < len(classes) else str(label)
        canvas.text((x1 + 2, max(0.0, y1 - 11)), f"{name} {score:.2f}", fill=colour)
    return image
