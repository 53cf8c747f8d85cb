"""Images: class sub-folders of image files; predict reads files and folders of them."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from transferkit.data.dataset import BadItem, LabeledData
from transferkit.data.images import load_image_folder, load_image_inputs, open_rgb
from transferkit.data.text_tables import TABLE_SUFFIXES, load_text_table
from transferkit.errors import ConfigError, DataError
from transferkit.modalities.base import ClassicRecipe, Modality, file_bytes
from transferkit.modalities.classic import ClassicFeatures, logistic_cv

PIXEL_SIZE = 32
THUMBNAIL_PIXELS = 96


def load_labeled(path: str | Path, **_: Any) -> LabeledData:
    """`path/<class>/<image>`: the table options do not apply."""
    return load_image_folder(path)


def read_inputs(paths: list[str | Path], *, text_column: str = "path", **_: Any) -> tuple[list[str], list[BadItem]]:
    """Image files and folders (recursively), and tables (CSV / JSONL / Parquet) whose `text_column` names an
    image file in every row, as `fit` reads them; unreadable files come back as bad items."""
    items: list[str] = []
    bad: list[BadItem] = []
    for path in map(Path, paths):
        if path.suffix.lower() in TABLE_SUFFIXES and path.is_file():
            table = load_text_table(path, text_column=text_column, label_column=None)
            if table.modality != "image":
                raise DataError(
                    f"Column '{text_column}' of {path} does not name an image file in every row; pass "
                    "--text-column with the column of image paths (absolute, or relative to the table's folder)."
                )
            found, unusable = table.inputs, table.bad_items
        else:
            found, unusable = load_image_inputs([path])
        items += found
        bad += unusable
    return items, bad


def pixel_features(paths: list[str], size: int = PIXEL_SIZE) -> np.ndarray:
    """Grey-scale pixels of each image, resized to size x size, scaled to [0, 1], one row per image."""
    rows = []
    for path in paths:
        grey = open_rgb(path).convert("L").resize((size, size))
        rows.append(np.asarray(grey, dtype=np.float32).ravel() / 255.0)
    return np.stack(rows)


class PixelFeatures(ClassicFeatures):
    """Grey 32x32 pixels in [0, 1]; standardised (and divided by sqrt(pixels)) before the linear layer.

    Example:
        >>> PixelFeatures().size
        1024
    """

    modality = "image"
    scaled = True

    @classmethod
    def fitted(cls, inputs: list[str]) -> PixelFeatures:
        return cls()

    @classmethod
    def from_step(cls, step: Any) -> PixelFeatures:
        return cls()  # the step is the pixel scaler; the FeatureModel copies its mean and scale

    @classmethod
    def restored(cls, config: dict[str, Any], terms: list[str] | None, tensors: dict[str, torch.Tensor]):
        return cls()

    @property
    def size(self) -> int:
        return PIXEL_SIZE * PIXEL_SIZE

    def transform_sparse(self, inputs: list[str]) -> np.ndarray:
        return pixel_features(inputs)

    def config(self) -> dict[str, Any]:
        return {"modality": self.modality, "kind": "pixels", "size": PIXEL_SIZE, "grey": True}


def latency_sample(folder: Path) -> list[str]:
    from PIL import Image

    path = folder / "sample.png"
    Image.new("RGB", (320, 240), (120, 140, 90)).save(path)
    return [str(path)]


def thumbnail(path: str) -> str:
    """An inline PNG thumbnail of the image and its file name (the escaped path when it cannot be read)."""
    try:
        image = open_rgb(path)
        image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
    except OSError:
        return html.escape(path) + f"<br>{html.escape(Path(path).name)}"
    return (
        f'<img class="thumb" alt="{html.escape(Path(path).name)}" src="data:image/png;base64,'
        f'{base64.b64encode(buffer.getvalue()).decode()}"><br>{html.escape(Path(path).name)}'
    )


class ImageViews:
    """Image batches: torchvision v2 views of the seeded rows (image_augment), then the backbone's own transform."""

    def __init__(self, backbone: Any, settings: Any) -> None:
        if not hasattr(backbone, "transform"):
            raise ConfigError(
                f"Image augmentation needs the backbone's own transform; '{backbone.spec}' has none. "
                "Use a timm or torchvision backbone, or --augment none."
            )
        self.backbone = backbone
        self.policy = settings.policy

    def batch(self, inputs: list[str], *, seeds: list[int | None]) -> torch.Tensor:
        from transferkit.modalities.image_augment import augment_image, image_batch

        images = [open_rgb(path) for path in inputs]
        images = [
            image if seed is None else augment_image(image, policy=self.policy, seed=seed)
            for image, seed in zip(images, seeds, strict=True)
        ]
        return image_batch(self.backbone, images)


MODALITY = Modality(
    name="image",
    default_backbone="bundled:efficientnet_lite0",
    load_labeled=load_labeled,
    read_inputs=read_inputs,
    item_bytes=file_bytes,
    latency_sample=latency_sample,
    show_html=thumbnail,
    show_text=lambda item: Path(item).name,
    augmenter=ImageViews,
    classic=ClassicRecipe(
        description="pixels + logistic regression",
        prepare=pixel_features,
        steps=lambda labels, seed: [StandardScaler(), logistic_cv(labels, seed)],
        features=PixelFeatures,
    ),
)
