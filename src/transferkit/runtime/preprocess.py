"""Raw inputs -> the graph's input arrays, from the preprocessing a bundle records as data.

Text: the backbone's own tokenizer (tokenizer.json, run by the `tokenizers` library) with its token limit.
Images: decoded as transferkit decodes them for training (upright by EXIF, transparency over white, deep greyscale
stretched), then resized (shorter side), centre-cropped, scaled to [0, 1] and normalised, with Pillow and numpy.
Tables: the fitted column preprocessing (median / standardise numbers, one-hot categories) replayed in numpy.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.errors import ArtifactError, DataError

TRANSPARENT_BACKGROUND = (255, 255, 255)
HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


class InputError(DataError):
    """One input the model cannot read; `index` is its position in the inputs passed (a server names it)."""

    def __init__(self, message: str, *, index: int) -> None:
        super().__init__(message)
        self.index = index


class TextInputs:
    """Texts -> ``input_ids`` and ``attention_mask`` (int64), padded to the longest text of the batch.

    `encode` and `pad` are the two halves of a call, so a caller can sort texts by length between them
    (`Bundle.predict_proba` does: batches of similar lengths carry little padding).
    """

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        import tokenizers

        self.max_length = int(record["max_length"])
        self.pad_id = int(record["pad_id"])
        self.tokenizer = tokenizers.Tokenizer.from_file(str(folder / record["tokenizer"]))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)

    def encode(self, texts: Sequence[Any], *, truncate: bool = True) -> list[Any]:
        """One unpadded encoding per text; InputError names the first non-text, or over-long text unless `truncate`."""
        bad = [i for i, text in enumerate(texts) if not isinstance(text, str)]
        if bad:
            raise InputError(
                f"Input {bad[0]} is a {type(texts[bad[0]]).__name__}, not a text; send strings.", index=bad[0]
            )
        encodings = self.tokenizer.encode_batch(list(texts))
        if not truncate:
            long = [i for i, encoding in enumerate(encodings) if encoding.overflowing]
            if long:
                raise InputError(
                    f"Text {long[0]} is longer than the model's limit of {self.max_length} tokens; shorten it "
                    "(or let it be cut: transferkit serve --truncate).",
                    index=long[0],
                )
        return encodings

    def pad(self, encodings: Sequence[Any]) -> dict[str, np.ndarray]:
        """The graph's arrays for `encodings`, padded (right, with the tokenizer's pad id) to the longest."""
        width = max((len(e.ids) for e in encodings), default=0)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask}

    def __call__(self, texts: Sequence[Any], *, truncate: bool = True, offset: int = 0) -> dict[str, np.ndarray]:
        try:
            return self.pad(self.encode(texts, truncate=truncate))
        except InputError as exc:
            raise InputError(str(exc), index=offset + exc.index) from None


def open_rgb(source: Any):
    """An image (path, bytes or PIL image) as 8-bit RGB, decoded as `transferkit.data.images.open_rgb` does."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if isinstance(source, Image.Image):
                opened = source
            elif isinstance(source, bytes | bytearray):
                opened = Image.open(io.BytesIO(source))
            else:
                opened = Image.open(Path(source))
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise DataError(f"{_name(source)} has too many pixels (over Pillow's limit); shrink it.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{_name(source)} is not a readable image ({type(exc).__name__}); send a PNG / JPEG.") from None
    if image.mode in HIGH_DEPTH_MODES:
        pixels = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(pixels.min()), float(pixels.max())
        scaled = (pixels - low) * (255.0 / (high - low)) if high > low else np.zeros_like(pixels)
        return Image.fromarray(np.round(scaled).astype(np.uint8), mode="L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*TRANSPARENT_BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _name(source: Any) -> str:
    return "The image" if isinstance(source, bytes | bytearray) else f"Image {source}"


class ImageInputs:
    """Images -> ``pixels`` (N, 3, H, W) float32: resize the shorter side, centre-crop, scale, normalise."""

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        from PIL import Image

        self.resize = int(record["resize"])
        self.crop = (int(record["crop"][0]), int(record["crop"][1]))  # height, width
        self.filter = getattr(Image.Resampling, str(record["interpolation"]).upper())
        self.mean = np.asarray(record["mean"], dtype=np.float32)[:, None, None]
        self.std = np.asarray(record["std"], dtype=np.float32)[:, None, None]
        self.input_name = record.get("input", "pixels")

    def one(self, source: Any) -> np.ndarray:
        image = open_rgb(source)
        width, height = image.size
        short, long = (width, height) if width <= height else (height, width)
        # torchvision's Resize(int): the shorter side to `resize`, the longer one scaled and truncated
        new_short, new_long = self.resize, int(self.resize * long / short)
        size = (new_short, new_long) if width <= height else (new_long, new_short)
        if size != image.size:
            image = image.resize(size, self.filter)
        crop_h, crop_w = self.crop
        top = round((size[1] - crop_h) / 2.0)
        left = round((size[0] - crop_w) / 2.0)
        if top < 0 or left < 0:
            raise DataError(f"{_name(source)} is smaller than the model's {crop_w}x{crop_h} crop after resizing.")
        image = image.crop((left, top, left + crop_w, top + crop_h))
        pixels = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0
        return (pixels - self.mean) / self.std

    def __call__(self, images: Sequence[Any], *, truncate: bool = True, offset: int = 0) -> dict[str, np.ndarray]:
        """`offset`: the position of `images[0]` among the caller's inputs, for the error's index."""
        arrays = []
        for index, source in enumerate(images, start=offset):
            try:
                arrays.append(self.one(source))
            except DataError as exc:
                raise InputError(f"Input {index}: {exc}", index=index) from None
        return {self.input_name: np.stack(arrays).astype(np.float32)}


def _number(value: Any) -> float:
    """A cell as a number as pandas.to_numeric(errors="coerce") reads it: NaN when it is not one."""
    if value is None or isinstance(value, bool):
        return math.nan if value is None else float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return math.nan


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class TableInputs:
    """Rows (dicts or JSON objects) -> the preprocessed feature matrix the fitted table backbone reads."""

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        self.params = record["preprocessor"]
        self.column_map = dict(record.get("column_map") or {})  # trained name -> name in the user's rows
        self.input_name = record.get("input", "pixels")
        if not isinstance(self.params, dict) or "columns" not in self.params:
            raise ArtifactError(f"{folder} records no fitted table preprocessing; export the bundle again.")

    @property
    def columns(self) -> list[str]:
        """The columns each row must have (after the column map)."""
        return [self.column_map.get(c, c) for c in self.params["columns"]]

    @property
    def numeric_columns(self) -> list[str]:
        """The columns read as numbers (after the column map): a server refuses text in them."""
        return [self.column_map.get(c, c) for c in self.params["numeric"]]

    def rows(self, items: Sequence[Any], *, offset: int = 0) -> list[dict[str, Any]]:
        rows = []
        for index, item in enumerate(items, start=offset):
            row = json.loads(item) if isinstance(item, str) else item
            if not isinstance(row, dict):
                raise InputError(f"Row {index} is not an object of column: value pairs; send one per row.", index=index)
            missing = [c for c in self.columns if c not in row]
            if missing:
                raise InputError(
                    f"Row {index} lacks column(s) {', '.join(missing)} the model was trained on.", index=index
                )
            rows.append({trained: row[self.column_map.get(trained, trained)] for trained in self.params["columns"]})
        return rows

    def __call__(self, items: Sequence[Any], *, truncate: bool = True, offset: int = 0) -> dict[str, np.ndarray]:
        rows = self.rows(items, offset=offset)
        blocks = []
        for column, p in self.params["numeric"].items():
            values = np.asarray([_number(row[column]) for row in rows], dtype=np.float64)
            values = np.where(np.isnan(values), p["median"], values)
            blocks.append(((values - p["mean"]) / p["scale"])[:, None])
        for column, p in self.params["categorical"].items():
            values = np.asarray(
                [p["fill"] if _missing(row[column]) else str(row[column]) for row in rows], dtype=object
            )
            onehot = values[:, None] == np.asarray(p["categories"], dtype=object)[None, :]
            if p.get("other"):
                onehot = np.concatenate([onehot, ~onehot.any(axis=1, keepdims=True)], axis=1)
            blocks.append(onehot.astype(np.float64))
        matrix = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(rows), 0))
        return {self.input_name: matrix.astype(np.float32)}


READERS = {"text": TextInputs, "image": ImageInputs, "tabular": TableInputs}
