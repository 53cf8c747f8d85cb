"""Texts: rows of a CSV / TSV / JSONL / Parquet table (or lines of a .txt file when predicting)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from transferkit.data.dataset import BadItem, LabeledData
from transferkit.data.text_tables import TABLE_SUFFIXES, load_text_table
from transferkit.data.validation import describe_bad_items
from transferkit.errors import DataError
from transferkit.modalities.base import ClassicRecipe, Modality, snippet, utf8_bytes
from transferkit.modalities.classic import ClassicFeatures, logistic_cv

TFIDF_OPTIONS: dict[str, Any] = {"ngram_range": (1, 2), "sublinear_tf": True}


def load_labeled(
    path: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
    feature_columns: list[str] | None = None,
) -> LabeledData:
    """A table with a text column and a label column."""
    return load_text_table(path, text_column=text_column, label_column=label_column, split_column=split_column)


def text_lines(path: Path) -> list[str]:
    """The non-blank lines of a .txt file; lines that are not UTF-8 are named in a DataError, not guessed at."""
    decoded = path.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    lines, bad = [], []
    for number, line in enumerate(decoded.splitlines(), start=1):
        if any("\udc80" <= char <= "\udcff" for char in line):
            bad.append(BadItem(f"{path} line {number}", "bad encoding (not UTF-8)"))
        elif line.strip():
            lines.append(line)
    if bad:
        raise DataError(f"Unusable lines in {path}: {describe_bad_items(bad)}. Save the file as UTF-8.")
    return lines


def read_inputs(
    paths: list[str | Path], *, text_column: str = "text", feature_columns: list[str] | None = None
) -> tuple[list[str], list[BadItem]]:
    """Texts from .txt files (one per line) and tables (`text_column`); a bad row stops the read."""
    texts: list[str] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise DataError(f"Input {path} does not exist; pass CSV / JSONL / TXT files of texts.")
        if path.suffix.lower() == ".txt":
            texts.extend(text_lines(path))
        elif path.suffix.lower() in TABLE_SUFFIXES:
            table = load_text_table(path, text_column=text_column, label_column=None)
            if table.bad_items:
                raise DataError(f"Unusable rows in {path}: {describe_bad_items(table.bad_items)}.")
            texts.extend(table.inputs)
        else:
            raise DataError(f"{path} is not a text input; use .txt (one text per line), .csv, .tsv or .jsonl.")
    return texts, []


def latency_sample(folder: Path) -> list[str]:
    return ["The delivery was quick and the coffee tasted fresh, though the bag was smaller than expected."]


class TfidfFeatures(ClassicFeatures):
    """TF-IDF rows (word 1-2 grams, sublinear tf); the vocabulary and idf are saved as data, not a pickle.

    Example:
        >>> features = TfidfFeatures.fitted(["good tea", "bad tea"])
        >>> features.transform(["good"]).shape == (1, features.size)
        True
    """

    modality = "text"
    scaled = False  # TF-IDF rows are unit-norm already

    def __init__(self, *, terms: list[str], idf: np.ndarray, vectorizer: TfidfVectorizer | None = None) -> None:
        self.terms = terms
        self.idf = idf
        self._vectorizer = vectorizer

    @classmethod
    def fitted(cls, inputs: list[str]) -> TfidfFeatures:
        return cls.from_step(TfidfVectorizer(**TFIDF_OPTIONS).fit(inputs))

    @classmethod
    def from_step(cls, step: TfidfVectorizer) -> TfidfFeatures:
        return cls(terms=step.get_feature_names_out().tolist(), idf=step.idf_, vectorizer=step)

    @classmethod
    def restored(cls, config: dict[str, Any], terms: list[str] | None, tensors: dict[str, torch.Tensor]):
        return cls(terms=terms or [], idf=tensors["idf"].numpy())

    @property
    def size(self) -> int:
        return len(self.terms or [])

    def vectorizer(self) -> TfidfVectorizer:
        if self._vectorizer is None:  # rebuilt from the stored vocabulary and idf (sklearn's documented setters)
            vocabulary = {term: index for index, term in enumerate(self.terms or [])}
            self._vectorizer = TfidfVectorizer(**TFIDF_OPTIONS, vocabulary=vocabulary)
            self._vectorizer.idf_ = np.asarray(self.idf, dtype=np.float64)
        return self._vectorizer

    def transform_sparse(self, inputs: list[str]) -> sp.csr_matrix:
        return self.vectorizer().transform(inputs)

    def config(self) -> dict[str, Any]:
        return {"modality": "text", "kind": "tfidf", "options": {"ngram_range": [1, 2], "sublinear_tf": True}}

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"idf": torch.as_tensor(np.asarray(self.idf, dtype=np.float64))}


class TextViews:
    """Text batches with EDA / back-translation / MLM views of the seeded rows (see text_augment)."""

    def __init__(self, backbone: Any, settings: Any) -> None:
        from transferkit.modalities.text_augment import TextAugmenter

        self.backbone = backbone
        self.text = TextAugmenter(
            policy=settings.policy, method=settings.text, synonyms=settings.synonyms, mlm=settings.mlm
        )

    def batch(self, inputs: list[str], *, seeds: list[int | None]) -> Any:
        texts = [text if seed is None else self.text(text, seed=seed) for text, seed in zip(inputs, seeds, strict=True)]
        return self.backbone.load_batch(texts)


MODALITY = Modality(
    name="text",
    default_backbone="bundled:minilm",
    load_labeled=load_labeled,
    read_inputs=read_inputs,
    item_bytes=utf8_bytes,
    latency_sample=latency_sample,
    show_html=lambda item: html.escape(snippet(item)),
    show_text=snippet,
    augmenter=TextViews,
    bf16_by_default=True,  # MiniLM: ~2x fp32 at cosine >= 0.9999 (benchmarks/embed_throughput.py)
    classic=ClassicRecipe(
        description="TF-IDF + logistic regression",
        prepare=lambda inputs: inputs,
        steps=lambda labels, seed: [TfidfVectorizer(**TFIDF_OPTIONS, min_df=1), logistic_cv(labels, seed)],
        features=TfidfFeatures,
    ),
)
