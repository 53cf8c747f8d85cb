"""Tabular source: CSV / TSV / JSONL / Parquet rows with numeric and categorical feature columns and a label.

Each row becomes one input: a JSON object of its feature columns (missing values as null). That keeps
tabular data on the same path as texts and images (validation, stratified splits, the feature cache,
predict on a file); the tabular backbone parses the rows and applies its fitted preprocessing.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from transferkit.data.dataset import BadItem, LabeledData
from transferkit.data.text_tables import read_table, require_column, with_label_set_column
from transferkit.errors import DataError

# A text column with a distinct value in at least this share of its (at least ID_MIN_VALUES) filled rows is an
# identifier (a user ID, a name, a free-text note): it tells rows apart but generalises to no new row.
ID_UNIQUE_SHARE = 0.9
ID_MIN_VALUES = 20


def _value(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def row_json(record: dict[str, object], columns: list[str]) -> str:
    """One table row as the JSON input the tabular backbone reads (column order kept, missing -> null).

    Example:
        >>> row_json({"income": "52000", "home": "", "x": "1"}, ["income", "home"])
        '{"income": "52000", "home": null}'
    """
    return json.dumps({column: _value(record.get(column)) for column in columns})


def feature_columns_of(
    frame: pd.DataFrame, *, feature_columns: list[str] | None, exclude: list[str | None], path: str | Path
) -> list[str]:
    """The chosen feature columns (checked), or every column not in `exclude` (label, split)."""
    if feature_columns:
        for column in feature_columns:
            require_column(frame, column, option="--feature-columns", path=path)
        return list(feature_columns)
    columns = [str(c) for c in frame.columns if c not in exclude]
    if not columns:
        raise DataError(f"{path} has no feature columns besides the label; add columns or check --label-column.")
    return columns


def id_like_columns(frame: pd.DataFrame, columns: list[str]) -> dict[str, str]:
    """The text columns among `columns` whose values are (nearly) all distinct, with the reason.

    Example:
        >>> frame = pd.DataFrame({"user": [f"u{i}" for i in range(30)], "plan": ["a", "b", "c"] * 10})
        >>> id_like_columns(frame, ["user", "plan"])
        {'user': 'ID-like: 30 distinct text values in 30 filled rows'}
    """
    found = {}
    for column in columns:
        values = frame[column].map(_value).dropna()
        if len(values) < ID_MIN_VALUES or pd.to_numeric(values, errors="coerce").notna().all():
            continue  # too few rows to tell, or numbers (an amount is distinct per row and still a feature)
        distinct = values.nunique()
        if distinct >= ID_UNIQUE_SHARE * len(values):
            found[column] = f"ID-like: {distinct} distinct text values in {len(values)} filled rows"
    return found


def without_id_columns(frame: pd.DataFrame, columns: list[str], *, path: str | Path) -> tuple[list[str], dict]:
    """`columns` less the ID-like ones (with a warning naming them), and those left out with why."""
    dropped = id_like_columns(frame, columns)
    if not dropped or len(dropped) == len(columns):  # a table of nothing but text IDs keeps them: nothing else
        return columns, {}
    warnings.warn(
        f"{path}: column(s) {', '.join(dropped)} look like identifiers (a distinct text value in nearly every row) "
        "and are left out of the features; name them in --feature-columns to keep them.",
        UserWarning,
        stacklevel=3,
    )
    return [column for column in columns if column not in dropped], dropped


def infinite_cells(frame: pd.DataFrame, columns: list[str]) -> dict[int, list[str]]:
    """Row position -> the columns whose value reads as an infinite number ('inf', '-Infinity', '1e999').

    Example:
        >>> infinite_cells(pd.DataFrame({"x": ["1", "inf", None], "y": ["a", "b", "-1e999"]}), ["x", "y"])
        {1: ['x'], 2: ['y']}
    """
    found: dict[int, list[str]] = {}
    for column in columns:
        numbers = pd.to_numeric(frame[column].astype(object), errors="coerce").to_numpy(dtype=np.float64)
        for position in np.flatnonzero(np.isinf(numbers)):
            found.setdefault(int(position), []).append(column)
    return found


def load_tabular_table(
    path: str | Path,
    *,
    label_column: str | None,
    feature_columns: list[str] | None = None,
    split_column: str | None = None,
    label_columns: list[str] | None = None,
    label_separator: str = "|",
) -> LabeledData:
    """Read a tabular classification table; `feature_columns` default to every non-label, non-split column.
    `label_columns` (several 0/1 columns) make each row's label the set of its 1 columns (multi-label).

    Pass `label_column=None` for unlabelled rows (prediction). Rows without a label are bad items.
    """
    frame, bad = read_table(path)
    if label_columns:
        frame, label_column = with_label_set_column(frame, label_columns, separator=label_separator, path=path)
    if label_column is not None:
        require_column(frame, label_column, option="--label-column", path=path)
    if split_column is not None:
        require_column(frame, split_column, option="--split-column", path=path)
    columns = feature_columns_of(
        frame,
        feature_columns=feature_columns,
        exclude=[label_column, split_column, "rownames", *(label_columns or [])],
        path=path,
    )
    dropped: dict[str, str] = {}
    if not feature_columns and label_column is not None:  # columns named with --feature-columns are kept as named
        columns, dropped = without_id_columns(frame, columns, path=path)
    bad_locations = {item.location for item in bad}
    infinite = infinite_cells(frame, columns)
    is_jsonl = Path(path).suffix.lower() in {".jsonl", ".json"}
    inputs, labels, splits = [], [], []
    for position, record in enumerate(frame.to_dict(orient="records")):
        location = f"{path} {'record' if is_jsonl else 'row'} {position + (1 if is_jsonl else 2)}"
        if location in bad_locations:
            continue
        if position in infinite:  # no scaling or imputation makes sense of it: the row is unusable
            bad.append(BadItem(location, f"infinite value in {', '.join(repr(c) for c in infinite[position])}"))
            continue
        if label_column is not None:
            label = _value(record[label_column])
            if label is None:
                bad.append(BadItem(location, f"missing label in '{label_column}'"))
                continue
            labels.append(label)
        if all(_value(record.get(column)) is None for column in columns):
            bad.append(BadItem(location, "every feature column is empty"))
            if label_column is not None:
                labels.pop()
            continue
        inputs.append(row_json(record, columns))
        if split_column is not None:
            splits.append(str(record[split_column]).strip().lower())
    return LabeledData(
        modality="tabular",
        inputs=inputs,
        labels=labels if label_column is not None else None,
        source=str(path),
        split=splits if split_column is not None else None,
        bad_items=bad,
        dropped_columns=dropped,
    )


def rows_frame(inputs: list[str]) -> pd.DataFrame:
    """The JSON row inputs back as a DataFrame of strings / None (what the preprocessor reads)."""
    return pd.DataFrame.from_records([json.loads(item) for item in inputs])
