"""`builtin:coins`: scikit-image's photograph of 24 coins, boxed by its gallery's watershed segmentation.

A smoke test on a real photo whose answer can be checked by eye (24 coins in four rows). Training sees the
photo and its two mirror images; testing sees the photo itself, so the score says the pipeline works, not that it
generalises (the stamp scenes measure that).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from transferkit.detection.boxes import DetectionData
from transferkit.errors import DataError

COIN_COUNT = 24
MIN_AREA = 200  # pixels: specks of the segmentation are not coins


def coin_boxes(image: np.ndarray) -> np.ndarray:
    """(24, 4) x1 y1 x2 y2 boxes: sobel edges, watershed from dark / bright markers, holes filled, regions labelled."""
    from scipy import ndimage
    from skimage import filters, measure, segmentation

    markers = np.zeros_like(image)
    markers[image < 30] = 1
    markers[image > 150] = 2
    filled = ndimage.binary_fill_holes(segmentation.watershed(filters.sobel(image), markers) - 1)
    regions = [r for r in measure.regionprops(measure.label(filled)) if r.area >= MIN_AREA]
    boxes = np.array([[r.bbox[1], r.bbox[0], r.bbox[3], r.bbox[2]] for r in regions], dtype=np.float32)
    if len(boxes) != COIN_COUNT:
        raise DataError(f"The coins segmentation found {len(boxes)} coins, not {COIN_COUNT}; scikit-image changed.")
    return boxes


def coins_dataset(root: Path | None = None) -> DetectionData:
    """Three images (the photo, mirrored left-right, mirrored up-down) with their coin boxes; class 'coin'."""
    import skimage.data

    root = root or Path(os.environ.get("TRANSFERKIT_CACHE", Path.home() / ".cache" / "transferkit")) / "datasets"
    folder = root / "coins"
    folder.mkdir(parents=True, exist_ok=True)
    photo = skimage.data.coins()
    boxes = coin_boxes(photo)
    height, width = photo.shape
    images, all_boxes = [], []
    for name, flip_x, flip_y in (("coins", False, False), ("coins_lr", True, False), ("coins_ud", False, True)):
        pixels = photo[:, ::-1] if flip_x else photo
        pixels = pixels[::-1] if flip_y else pixels
        flipped = boxes.copy()
        if flip_x:
            flipped[:, [0, 2]] = width - boxes[:, [2, 0]]
        if flip_y:
            flipped[:, [1, 3]] = height - boxes[:, [3, 1]]
        path = folder / f"{name}.png"
        if not path.is_file():  # written aside and renamed: a parallel run never reads half a file
            staged = path.with_name(f".{path.stem}.{os.getpid()}.png")
            Image.fromarray(np.ascontiguousarray(pixels)).convert("RGB").save(staged)
            os.replace(staged, path)
        images.append(path)
        all_boxes.append(flipped)
    return DetectionData(
        images=images,
        sizes=[(width, height)] * len(images),
        boxes=all_boxes,
        labels=[np.zeros(len(b), dtype=np.int64) for b in all_boxes],
        classes=["coin"],
        source="builtin:coins",
    )
