"""Detection bundles: images in, boxes out, with onnxruntime, numpy and Pillow only.

The graph (a torchvision detector exported by transferkit.detection.export) takes one float image (3, H, W) in
[0, 1] and does its own resizing, normalisation, score threshold and NMS; boxes come back in the input's pixels.
The runtime decodes each image as detection training does (Pillow, converted to RGB), runs the graph once per
image (each image keeps its own size), names the classes and may raise the score threshold (never lower it: the
graph has already dropped the boxes under the exported threshold).

Example::

    bundle = load_bundle("bundles/coins")
    bundle.predict(["coins.png"])  # [{"boxes": [{"class": "coin", "score": 0.91, "box": [x1, y1, x2, y2]}, ...]}]
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.errors import ConfigError, DataError
from transferkit.runtime.bundle import Bundle
from transferkit.runtime.preprocess import InputError

OUTPUTS = ("boxes", "labels", "scores")


def decode_rgb(source: Any):
    """An image (path, bytes or PIL image) as RGB, decoded as detection training reads it (`convert("RGB")`, no
    EXIF rotation: the boxes were drawn on the stored pixels)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if isinstance(source, Image.Image):
                return source.convert("RGB")
            opened = Image.open(io.BytesIO(source) if isinstance(source, bytes | bytearray) else Path(source))
            with opened:
                return opened.convert("RGB")
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise DataError(f"{_name(source)} has too many pixels (over Pillow's limit); shrink it.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{_name(source)} is not a readable image ({type(exc).__name__}); send a PNG / JPEG.") from None


def _name(source: Any) -> str:
    return "The image" if isinstance(source, bytes | bytearray) else f"Image {source}"


class DetectionInputs:
    """Images -> one float32 (3, H, W) array in [0, 1] each, at the image's own size."""

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        self.input_name = record.get("input", "image")

    def one(self, source: Any) -> np.ndarray:
        return np.asarray(decode_rgb(source), dtype=np.float32).transpose(2, 0, 1) / np.float32(255.0)

    def __call__(self, images: Sequence[Any], *, truncate: bool = True) -> list[np.ndarray]:
        arrays = []
        for index, source in enumerate(images):
            try:
                arrays.append(self.one(source))
            except DataError as exc:
                raise InputError(f"Input {index}: {exc}", index=index) from None
        return arrays


class DetectionBundle(Bundle):
    """A detector bundle: `detections` gives arrays per image, `predict` JSON-ready boxes with class names."""

    # Images reach the detector at their own sizes: a kept arena would grow with every new shape.
    arena_shrink = True

    def make_reader(self, folder: Path, manifest: dict[str, Any]) -> DetectionInputs:
        return DetectionInputs(folder, manifest["preprocessing"])

    @property
    def output_names(self) -> list[str]:
        return list(self.task["state"]["class_names"])

    @property
    def score_threshold(self) -> float:
        """The graph's own score threshold (the lowest a caller can ask for)."""
        return float(self.task["state"]["score_threshold"])

    def detections(self, inputs: Sequence[Any], *, score_threshold: float | None = None) -> list[dict[str, np.ndarray]]:
        """Per image: boxes (N, 4) x1 y1 x2 y2 in its pixels, scores (N,), labels (N,) as 0-based class indexes."""
        floor = self._floor(score_threshold)
        results = []
        for array in self.reader(list(inputs)):
            feed = {self.input_names[0]: array}  # the run options shrink the memory arena after each image's shape
            boxes, labels, scores = self.session.run(list(OUTPUTS), feed, getattr(self, "run_options", None))
            keep = scores >= floor
            results.append({"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep].astype(np.int64) - 1})
        return results

    def _floor(self, score_threshold: float | None) -> float:
        if score_threshold is None:
            return self.score_threshold
        if not self.score_threshold <= score_threshold <= 1.0:
            raise ConfigError(
                f"score_threshold {score_threshold} is outside [{self.score_threshold:g}, 1]: the bundle's graph "
                "already drops boxes under its exported threshold; export again with a lower one to see them."
            )
        return float(score_threshold)

    def predict(
        self,
        inputs: Sequence[Any],
        *,
        batch_size: int = 32,
        truncate: bool = True,
        score_threshold: float | None = None,
    ) -> list[dict[str, Any]]:
        """One {"boxes": [{"class", "score", "box": [x1, y1, x2, y2]}, ...]} per image, highest score first.
        `batch_size` and `truncate` are accepted for the server's sake; a detector graph takes one image a run."""
        names = self.output_names
        return [
            {
                "boxes": [
                    {"class": names[int(label)], "score": float(score), "box": [float(v) for v in box]}
                    for box, score, label in zip(found["boxes"], found["scores"], found["labels"], strict=True)
                ]
            }
            for found in self.detections(inputs, score_threshold=score_threshold)
        ]

    def predict_proba(self, inputs: Sequence[Any], **_: Any) -> np.ndarray:
        raise ConfigError("A detection bundle gives boxes, not class probabilities; call predict or detections.")

    def metadata(self) -> dict[str, Any]:
        return super().metadata() | {"detector": self.manifest.get("detector"), "score_threshold": self.score_threshold}
