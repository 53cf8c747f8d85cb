"""Data sources, validation and splits: everything between the user's files and a LabeledData."""

from __future__ import annotations

from pathlib import Path

from transferkit.data.audio import is_audio_folder, load_audio_folder
from transferkit.data.builtin import BUILTIN_DATASETS, load_builtin
from transferkit.data.dataset import BadItem, LabeledData, imbalance_ratio
from transferkit.data.feature_tables import load_tabular_table
from transferkit.data.images import load_image_folder
from transferkit.data.splits import Splits, split_data, stratified_sample
from transferkit.data.text_tables import TABLE_SUFFIXES, load_text_table
from transferkit.data.validation import DataReport, validate_labeled
from transferkit.errors import DataError


def load_labeled(
    path: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
    tabular: bool = False,
    feature_columns: list[str] | None = None,
    label_columns: list[str] | None = None,
    label_separator: str = "|",
) -> LabeledData:
    """Read labelled data from an image or audio folder, a CSV / TSV / JSONL / Parquet file, or ``builtin:NAME``.

    With `tabular` (or `feature_columns`) a table is read as numeric / categorical feature columns
    (default: every column but the label and split columns) instead of a text column. `label_columns`
    (several 0/1 columns of a table) make each row's label the set of its 1 columns, joined by `label_separator`.
    """
    text = str(path)
    if text.startswith("builtin:"):
        return load_builtin(text.removeprefix("builtin:"))
    path = Path(path)
    label_set = {"label_columns": label_columns, "label_separator": label_separator}  # multi-label 0/1 columns
    if path.is_dir():
        return load_audio_folder(path) if is_audio_folder(path) else load_image_folder(path)
    if path.suffix.lower() in TABLE_SUFFIXES and (tabular or feature_columns):
        return load_tabular_table(
            path, label_column=label_column, feature_columns=feature_columns, split_column=split_column, **label_set
        )
    if path.suffix.lower() in TABLE_SUFFIXES:
        return load_text_table(
            path, text_column=text_column, label_column=label_column, split_column=split_column, **label_set
        )
    if not path.exists():
        raise DataError(f"Data path {path} does not exist; pass an image folder, a CSV / JSONL file or builtin:NAME.")
    raise DataError(
        f"{path} is neither a folder of class sub-folders nor a table ({', '.join(sorted(TABLE_SUFFIXES))}); "
        "convert it or pass a folder."
    )


__all__ = [
    "BUILTIN_DATASETS",
    "BadItem",
    "DataReport",
    "LabeledData",
    "Splits",
    "imbalance_ratio",
    "load_labeled",
    "split_data",
    "stratified_sample",
    "validate_labeled",
]
