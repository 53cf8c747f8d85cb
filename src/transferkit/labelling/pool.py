"""The rows the labelling commands read: a pool of inputs, each with its label or none yet, and their embeddings.

A pool is a table (CSV / TSV / JSONL / Parquet) with a text column (or a column of image paths) and an optional
label column whose empty cells mark unlabelled rows, an image folder of class sub-folders (every row labelled),
or a folder of image files (none labelled). Embeddings come from the on-disk cache, so a backbone runs once per
input across `audit`, `suggest`, `zero-shot` and `distil`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transferkit.backbones import create_backbone
from transferkit.backbones.base import Backbone
from transferkit.data import load_labeled
from transferkit.data.images import IMAGE_SUFFIXES, load_image_inputs
from transferkit.data.text_tables import TABLE_SUFFIXES, read_table, require_column
from transferkit.data.validation import describe_bad_items
from transferkit.embedding_cache import extract_features
from transferkit.errors import DataError
from transferkit.modalities import get_modality


@dataclass
class Pool:
    """Inputs (texts or image paths) with a label per row, None where a row is not labelled yet."""

    modality: str
    inputs: list[str]
    labels: list[str | None]
    source: str
    rows: list[int]  # each input's row in the source table (0-based, header excluded), for the CSVs we write
    split: list[str] | None = None  # train / test per row, when the source says (builtin:fine-food; --test-data)

    @property
    def labelled(self) -> np.ndarray:
        return np.array([index for index, label in enumerate(self.labels) if label is not None], dtype=int)

    @property
    def unlabelled(self) -> np.ndarray:
        return np.array([index for index, label in enumerate(self.labels) if label is None], dtype=int)

    @property
    def class_names(self) -> list[str]:
        return sorted({label for label in self.labels if label is not None})

    def encoded(self, class_names: list[str] | None = None) -> np.ndarray:
        """Labels as class indices (-1 for unlabelled rows)."""
        names = class_names or self.class_names
        return np.array([names.index(label) if label in names else -1 for label in self.labels], dtype=int)


def joined(first: Pool, second: Pool) -> Pool:
    """`first` (split "train") then `second` (split "test"), e.g. DATA and --test-data."""
    if first.modality != second.modality:
        raise DataError(f"{second.source} holds {second.modality} but {first.source} holds {first.modality}.")
    split = ["train"] * len(first.inputs) + ["test"] * len(second.inputs)
    rows = first.rows + second.rows
    return Pool(first.modality, first.inputs + second.inputs, first.labels + second.labels, first.source, rows, split)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def read_pool(
    path: str | Path, *, text_column: str = "text", label_column: str | None = "label", skip_bad_files: bool = False
) -> Pool:
    """Read a pool (see the module docstring). A table without `label_column` is wholly unlabelled.

    Example::

        pool = read_pool("reviews.csv", text_column="review", label_column="score")
        len(pool.unlabelled)
    """
    text = str(path)
    if text.startswith("builtin:"):
        data = load_labeled(text)
        return Pool(data.modality, data.inputs, list(data.labels or []), text, list(range(len(data))), data.split)
    path = Path(path)
    if path.is_dir():
        if any(child.is_dir() for child in path.iterdir()):
            data = load_labeled(path)
            _refuse_bad(data.bad_items, skip_bad_files)
            return Pool(data.modality, data.inputs, list(data.labels or []), str(path), list(range(len(data))))
        items, bad = load_image_inputs([path])
        _refuse_bad(bad, skip_bad_files)
        return Pool("image", items, [None] * len(items), str(path), list(range(len(items))))
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(f"{path} is neither a folder nor a table ({', '.join(sorted(TABLE_SUFFIXES))}); convert it.")
    return _table_pool(path, text_column=text_column, label_column=label_column, skip_bad_files=skip_bad_files)


def _table_pool(path: Path, *, text_column: str, label_column: str | None, skip_bad_files: bool) -> Pool:
    frame, bad = read_table(path)
    _refuse_bad(bad, skip_bad_files)
    require_column(frame, text_column, option="--text-column", path=path)
    has_labels = label_column is not None and label_column in frame.columns
    rows = [index for index, cell in enumerate(frame[text_column]) if not _missing(cell)]
    if not rows:
        raise DataError(f"{path} has no non-empty '{text_column}' cells; pass the text column with --text-column.")
    inputs = [str(frame[text_column].iloc[index]) for index in rows]
    labels: list[str | None] = [None] * len(rows)
    if has_labels:
        cells = frame[label_column]
        labels = [None if _missing(cells.iloc[index]) else str(cells.iloc[index]).strip() for index in rows]
    modality = "text"
    files = [Path(item) if Path(item).is_absolute() else path.parent / item for item in inputs]
    if all(file.suffix.lower() in IMAGE_SUFFIXES for file in files):  # a column of image paths
        missing = [str(file) for file in files if not file.is_file()]
        if missing:
            raise DataError(f"{len(missing)} image file(s) named in {path} do not exist, e.g. {missing[0]}.")
        modality, inputs = "image", [str(file) for file in files]
    return Pool(modality, inputs, labels, str(path), rows)


def _refuse_bad(bad: list, skip_bad_files: bool) -> None:
    if bad and not skip_bad_files:
        raise DataError(f"{len(bad)} unusable item(s): {describe_bad_items(bad)}. Fix them or pass --skip-bad-files.")


def pool_backbone(spec: str | None, modality: str, *, max_length: int = 128) -> Backbone:
    """The backbone a spec names, or the modality's default one (bundled:minilm for text)."""
    chosen = spec or get_modality(modality).default_backbone
    backbone = create_backbone(chosen, max_length=max_length)
    if backbone.modality != modality:
        raise DataError(
            f"The backbone {chosen} reads {backbone.modality} but the data is {modality}; "
            f"pass --backbone with a {modality} model such as {get_modality(modality).default_backbone}."
        )
    return backbone


def embed(
    backbone: Backbone,
    inputs: list[str],
    *,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    use_cache: bool = True,
    devices: int = 1,
) -> np.ndarray:
    """Embeddings of `inputs` (cached on disk: a backbone runs once per input). A fine-tuned backbone passes
    `use_cache=False`: the cache is keyed by the pretrained weights, not by what training changed. `devices` > 1
    shares the rows the cache lacks over that many processes."""
    features, _stats = extract_features(
        backbone,
        inputs,
        cache_dir=cache_dir,
        batch_size=batch_size,
        description=f"Embedding ({backbone.spec})",
        use_cache=use_cache,
        devices=devices,
    )
    return features
