"""Tables: numeric / categorical feature columns, one example per row (each row travels as a JSON object)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from transferkit.data.dataset import BadItem, LabeledData
from transferkit.data.feature_tables import load_tabular_table
from transferkit.data.validation import describe_bad_items
from transferkit.errors import DataError
from transferkit.modalities.base import ClassicRecipe, Modality, snippet, utf8_bytes

BOOSTING_MAX_CATEGORIES = 250  # HistGradientBoostingClassifier refuses more than max_bins (255) categories


def load_labeled(
    path: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
    feature_columns: list[str] | None = None,
) -> LabeledData:
    """A table of feature columns (default: every column but the label and split columns)."""
    return load_tabular_table(
        path, label_column=label_column, feature_columns=feature_columns, split_column=split_column
    )


def read_inputs(
    paths: list[str | Path], *, text_column: str = "text", feature_columns: list[str] | None = None
) -> tuple[list[str], list[BadItem]]:
    """The model's `feature_columns` of each table, one JSON row per example; a bad row stops the read."""
    rows: list[str] = []
    for path in map(Path, paths):
        table = load_tabular_table(path, label_column=None, feature_columns=feature_columns)
        if table.bad_items:
            raise DataError(f"Unusable rows in {path}: {describe_bad_items(table.bad_items)}.")
        rows.extend(table.inputs)
    return rows, []


def table_matrix(rows: Any) -> Any:
    """The feature table of tabular inputs: a DataFrame / 2-D array as is, else one row per item.

    Items may be sequences of values, mappings of column -> value, or JSON strings of either. Text columns
    become pandas categories, which the gradient-boosting baseline splits on natively.

    Example:
        >>> frame = table_matrix(['{"age": 30, "city": "Oslo"}', '{"age": "41", "city": "Bergen"}'])
        >>> frame["age"].tolist(), frame["city"].dtype.name
        ([30, 41], 'category')
    """
    import pandas as pd

    if isinstance(rows, np.ndarray):
        return rows.astype(float)
    frame = rows if isinstance(rows, pd.DataFrame) else None
    if frame is None:
        items = [json.loads(row) if isinstance(row, str) else row for row in rows]
        frame = pd.DataFrame(items if items and isinstance(items[0], dict) else [list(item) for item in items])
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]):
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")  # numbers written as text ("52000") stay numbers
        if numbers.notna().sum() == frame[column].notna().sum():
            frame[column] = numbers
        else:  # gradient boosting takes at most 255 categories a column: the rest count as missing
            kept = frame[column].value_counts().index[:BOOSTING_MAX_CATEGORIES]
            frame[column] = frame[column].where(frame[column].isin(kept)).astype("category")
    return frame


def _boosting(labels: list[str], seed: int) -> list[Any]:
    # Gradient boosting's defaults are strong on small tables; categories split natively, NaN allowed.
    return [HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)]


MODALITY = Modality(
    name="tabular",
    default_backbone="tabular:columns",
    load_labeled=load_labeled,
    read_inputs=read_inputs,
    item_bytes=utf8_bytes,
    latency_sample=lambda folder: None,  # table backbones are column transforms: nothing worth timing
    show_html=lambda item: html.escape(snippet(item)),
    show_text=snippet,
    augmenter=None,
    classic=ClassicRecipe(
        description="gradient boosting (scikit-learn HistGradientBoostingClassifier)",
        prepare=table_matrix,
        steps=_boosting,
        features=None,  # trees do not become a linear FeatureModel
        model="trees",  # strategy auto saves them as BoostingModel (allow-listed skops)
    ),
    backbone_advice=(
        "Tables rarely have a pretrained backbone: tabular:columns (the preprocessed columns) is the start, "
        "tabular:mlp transfers only when pretrained on a related source table, and gradient-boosted trees "
        "(--baseline classic) or a regularised linear model on the raw columns are the strong baseline for "
        "small tabular data."
    ),
)
