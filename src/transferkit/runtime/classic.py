"""Classic features in the runtime: TF-IDF rows and grey pixels, replayed from data with numpy and Pillow only.

Classic and concat models (which `fit --strategy auto` may pick) read a "classic_features" input beside, or
instead of, the backbone's tensors. The bundle records that transform as data and this module applies it:

- TF-IDF (texts): scikit-learn's TfidfVectorizer transform step for step, from the vocabulary and idf in the
  bundle's classic.json: lowercase, the token regex's matches, word n-grams joined by one space, counts of the
  vocabulary's terms, 1 + log(count) when sublinear, times idf, each row scaled to unit L2 norm (float64, then
  float32 as the model reads it). skl2onnx's converter was tried instead: it swaps scikit-learn's regex for
  onnxruntime's tokenizer operator and differed by up to 0.02 on 292 of 300 real reviews (not exact).
- Pixels (images): decoded as training decodes (upright, transparency over white), grey, resized to size x size
  with the recorded Pillow filter, scaled to [0, 1].

Example::

    bundle = load_bundle("bundles/cue-classic")  # a TF-IDF + logistic regression model
    bundle.predict(["Check it out #freeshipping"])
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.errors import ArtifactError, DataError
from transferkit.runtime.preprocess import ImageInputs, InputError, TextInputs, open_rgb

CLASSIC_INPUT = "classic_features"


class TfidfRows:
    """Texts -> TF-IDF rows (N, terms) float32, as the fitted TfidfVectorizer the record describes computes them."""

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        data = json.loads((folder / record["file"]).read_text(encoding="utf-8"))
        self.terms = {term: index for index, term in enumerate(data["terms"])}
        self.idf = np.asarray(data["idf"], dtype=np.float64)
        if len(self.idf) != len(self.terms):
            raise ArtifactError(f"{folder / record['file']} holds {len(self.terms)} terms but {len(self.idf)} idf.")
        self.pattern = re.compile(record["token_pattern"])
        self.lowercase = bool(record["lowercase"])
        self.ngrams = (int(record["ngram_range"][0]), int(record["ngram_range"][1]))
        self.sublinear = bool(record["sublinear_tf"])

    @property
    def size(self) -> int:
        return len(self.terms)

    def tokens(self, text: str) -> list[str]:
        """The text's terms in scikit-learn's order: n-grams of each n from the smallest to the largest."""
        words = self.pattern.findall(text.lower() if self.lowercase else text)
        low, high = self.ngrams
        terms = list(words) if low == 1 else []
        for n in range(max(low, 2), min(high, len(words)) + 1):
            terms += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        return terms

    def __call__(self, texts: Sequence[Any], *, offset: int = 0) -> np.ndarray:
        rows = np.zeros((len(texts), self.size), dtype=np.float32)
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                index = offset + row
                raise InputError(f"Input {index} is a {type(text).__name__}, not a text; send strings.", index=index)
            counts = Counter(t for t in self.tokens(text) if t in self.terms)
            if not counts:
                continue
            columns = np.fromiter((self.terms[t] for t in counts), dtype=np.int64, count=len(counts))
            values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if self.sublinear:
                values = np.log(values) + 1.0
            values *= self.idf[columns]
            norm = np.sqrt(np.sum(values * values))
            rows[row, columns] = values / norm if norm > 0 else values
        return rows


class PixelRows:
    """Images (paths, bytes or PIL images) -> grey size x size pixels in [0, 1], one row per image."""

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        from PIL import Image

        self.side = int(record["size"])
        self.filter = getattr(Image.Resampling, str(record["resample"]).upper())

    @property
    def size(self) -> int:
        return self.side * self.side

    def __call__(self, images: Sequence[Any], *, offset: int = 0) -> np.ndarray:
        rows = []
        for index, source in enumerate(images, start=offset):
            try:
                grey = open_rgb(source).convert("L").resize((self.side, self.side), self.filter)
            except DataError as exc:
                raise InputError(f"Input {index}: {exc}", index=index) from None
            rows.append(np.asarray(grey, dtype=np.float32).ravel() / 255.0)
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, self.size), np.float32)


ROWS = {"tfidf": TfidfRows, "pixels": PixelRows}


def classic_rows(folder: Path, record: dict[str, Any]) -> TfidfRows | PixelRows:
    """The classic transform a bundle's preprocessing["classic"] record names."""
    if record.get("kind") not in ROWS:
        raise ArtifactError(f"{folder} records classic features of kind {record.get('kind')!r}; export it again.")
    return ROWS[record["kind"]](folder, record)


class ClassicInputs:
    """Raw inputs -> ``classic_features`` only: a classic model (TF-IDF or pixels + logistic regression)."""

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        self.rows = classic_rows(folder, record["classic"])

    def __call__(self, items: Sequence[Any], *, truncate: bool = True, offset: int = 0) -> dict[str, np.ndarray]:
        return {CLASSIC_INPUT: self.rows(list(items), offset=offset)}


class ConcatImageInputs(ImageInputs):
    """Images -> the backbone's ``pixels`` and the ``classic_features`` of the same images (a concat model)."""

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        super().__init__(folder, record)
        self.rows = classic_rows(folder, record["classic"])

    def __call__(self, images: Sequence[Any], *, truncate: bool = True, offset: int = 0) -> dict[str, np.ndarray]:
        arrays = super().__call__(images, truncate=truncate, offset=offset)
        return arrays | {CLASSIC_INPUT: self.rows(list(images), offset=offset)}


class _Encoded:
    """A text's tokens with the text itself: the TF-IDF half of a concat model reads the whole text."""

    __slots__ = ("encoding", "text")

    def __init__(self, encoding: Any, text: str) -> None:
        self.encoding, self.text = encoding, text

    @property
    def ids(self) -> list[int]:
        return self.encoding.ids


class ConcatTextInputs(TextInputs):
    """Texts -> ``input_ids`` / ``attention_mask`` (the backbone cuts them at its limit) and the TF-IDF rows of
    the whole texts (as the PyTorch model computes them); `encode` / `pad` keep the length-sorted batching."""

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        super().__init__(folder, record)
        self.rows = classic_rows(folder, record["classic"])

    def encode(self, texts: Sequence[Any], *, truncate: bool = True) -> list[Any]:
        encodings = super().encode(texts, truncate=truncate)
        return [_Encoded(encoding, text) for encoding, text in zip(encodings, texts, strict=True)]

    def pad(self, encodings: Sequence[Any]) -> dict[str, np.ndarray]:
        arrays = super().pad([e.encoding for e in encodings])
        return arrays | {CLASSIC_INPUT: self.rows([e.text for e in encodings])}


def classic_reader(folder: Path, modality: str, record: dict[str, Any]) -> Any:
    """The reader of a classic or concat model's bundle (`record["classic"]["embeddings"]`: concat)."""
    if not record["classic"].get("embeddings"):
        return ClassicInputs(folder, record)
    readers = {"text": ConcatTextInputs, "image": ConcatImageInputs}
    if modality not in readers:
        raise ArtifactError(f"{folder} is a concat model of {modality} data; bundles hold text and image ones.")
    return readers[modality](folder, record)
