"""Text sources: CSV / TSV / JSONL / Parquet files with a text column and (for training) a label column; a column of
image file paths makes the table image data (multi-label images: paths and label sets in a CSV)."""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import json
import warnings
from pathlib import Path

import pandas as pd

from transferkit.data.dataset import BadItem, LabeledData
from transferkit.data.images import IMAGE_SUFFIXES, check_image
from transferkit.data.labels import combine_label_columns
from transferkit.errors import DataError, require

TABLE_SUFFIXES = {".csv", ".tsv", ".jsonl", ".json", ".parquet"}


def read_table(path: str | Path) -> tuple[pd.DataFrame, list[BadItem]]:
    """Read a table as strings; rows that cannot be decoded are returned as bad items, not dropped silently."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Data file {path} does not exist; check the path.")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{path} has an unsupported type '{suffix}'; use one of {', '.join(sorted(TABLE_SUFFIXES))}.")
    if suffix == ".parquet":
        require("pyarrow", extra="parquet", purpose="Reading Parquet files")
        return pd.read_parquet(path).astype("string").astype(object), []
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"Data file {path} is empty; it needs a header row and at least two labelled rows.")
    # surrogateescape keeps undecodable bytes visible so the affected rows can be reported one by one.
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    if not text.strip():  # a byte-order mark (and blanks) only: what an editor saves for an empty sheet
        raise DataError(
            f"Data file {path} holds only a byte-order mark and no rows; it needs a header row and at least two "
            "labelled rows."
        )
    if suffix in {".jsonl", ".json"}:
        frame, bad = _read_jsonl(text, path)
    else:
        frame, bad = _read_delimited(text, path, sep="\t" if suffix == ".tsv" else ",")
    return frame, bad


def _check_header(text: str, path: Path, *, sep: str) -> None:
    """The header row must be UTF-8 (column names are matched against options) and name each column once."""
    header = next(line for line in text.splitlines() if line.strip())  # pandas skips blank lines too
    if _has_bad_bytes(header):
        raise DataError(f"The header row of {path} is not UTF-8 text; save the file as UTF-8.")
    try:
        names = next(csv.reader([header], delimiter=sep))
    except csv.Error:  # pandas reports the malformed line
        return
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        raise DataError(
            f"The header row of {path} names column(s) {', '.join(repr(name) for name in repeated)} more than once; "
            "give each column its own name."
        )


def _read_delimited(text: str, path: Path, *, sep: str) -> tuple[pd.DataFrame, list[BadItem]]:
    _check_header(text, path, sep=sep)
    # The C parser re-encodes its input and chokes on the escaped bytes; the python parser takes them as they are.
    engine = "python" if _has_bad_bytes(text) else "c"
    try:
        # index_col=False: extra fields in the first data row must not turn the first column into the index
        # (which shifts every column by one); pandas drops them with a ParserWarning, which is an error here.
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text), sep=sep, dtype=object, keep_default_na=False, engine=engine, index_col=False
            )
    except pd.errors.ParserWarning:
        raise DataError(
            f"{path} row 2 (the first data row) has more fields than the header; fix the quoting or column count "
            "on that line."
        ) from None
    except (pd.errors.ParserError, csv.Error) as exc:
        raise DataError(
            f"{path} is not a well-formed CSV ({exc}); fix the quoting or column count on that line."
        ) from exc
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} has no header row; the first line must name the columns.") from None
    except UnicodeError:  # bytes that are not UTF-8 where pandas needs text (column names): not row by row
        raise DataError(f"The header row of {path} is not UTF-8 text; save the file as UTF-8.") from None
    bad = []
    for position, row in enumerate(frame.itertuples(index=False)):
        if any(_has_bad_bytes(value) for value in row):
            bad.append(BadItem(f"{path} row {position + 2}", "bad encoding (not UTF-8)"))
    return frame, bad


def _read_jsonl(text: str, path: Path) -> tuple[pd.DataFrame, list[BadItem]]:
    stripped = text.lstrip()
    if stripped.startswith("["):  # a single JSON array of records
        return _read_json_array(stripped, path)
    records, bad = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if _has_bad_bytes(line):
            bad.append(BadItem(f"{path} line {number}", "bad encoding (not UTF-8)"))
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(BadItem(f"{path} line {number}", f"not valid JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict):
            bad.append(BadItem(f"{path} line {number}", "not a JSON object"))
            continue
        records.append({key: None if value is None else str(value) for key, value in record.items()})
    return pd.DataFrame.from_records(records), bad


def _read_json_array(text: str, path: Path) -> tuple[pd.DataFrame, list[BadItem]]:
    """A JSON array of objects; records holding undecodable bytes or that are not objects become bad items.

    They stay in the frame as empty rows, so every later record keeps its number ("record N", from 1).
    """
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); fix it or save one JSON object per line.") from None
    if not isinstance(items, list):
        raise DataError(f"{path} is not a JSON array of records; save a list of objects or one object per line.")
    if items and not any(isinstance(item, dict) for item in items):
        raise DataError(
            f"{path} is a JSON array of {type(items[0]).__name__} values, not of records; save a list of objects "
            'such as [{"text": "...", "label": "..."}] or one object per line.'
        )
    records, bad = [], []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            bad.append(BadItem(f"{path} record {number}", "not a JSON object"))
            item = {}
        record = {str(key): None if value is None else str(value) for key, value in item.items()}
        if any(_has_bad_bytes(key) or _has_bad_bytes(value) for key, value in record.items()):
            bad.append(BadItem(f"{path} record {number}", "bad encoding (not UTF-8)"))
            record = {}  # pandas' string columns refuse undecodable text; the row is skipped by its number
        records.append(record)
    return pd.DataFrame.from_records(records), bad


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or not str(value).strip()


def _has_bad_bytes(value: object) -> bool:
    return isinstance(value, str) and any("\udc80" <= char <= "\udcff" for char in value)


LABEL_SET_COLUMN = "__label_set__"


def with_label_set_column(
    frame: pd.DataFrame, columns: list[str], *, separator: str, path: str | Path
) -> tuple[pd.DataFrame, str]:
    """`frame` with one more column holding each row's label set from the 0/1 `columns`, and that column's name."""
    for column in columns:
        require_column(frame, column, option="--label-columns", path=path)
    labels = combine_label_columns(frame, columns, separator=separator, path=path)
    return frame.assign(**{LABEL_SET_COLUMN: labels}), LABEL_SET_COLUMN


def require_column(frame: pd.DataFrame, column: str, *, option: str, path: str | Path) -> None:
    if column in frame.columns:
        return
    columns = [str(c) for c in frame.columns]
    close = difflib.get_close_matches(column, columns, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise DataError(
        f"{path} has no column '{column}' for {option}; {hint}available columns: {', '.join(columns) or 'none'}."
    )


def load_text_table(
    path: str | Path,
    *,
    text_column: str,
    label_column: str | None,
    split_column: str | None = None,
    label_columns: list[str] | None = None,
    label_separator: str = "|",
) -> LabeledData:
    """Read a text classification table. Pass `label_column=None` for unlabelled inputs (prediction);
    `label_columns` (several 0/1 columns) make each row's label the set of its 1 columns (multi-label).
    """
    frame, bad = read_table(path)
    if label_columns:
        frame, label_column = with_label_set_column(frame, label_columns, separator=label_separator, path=path)
    bad_locations = {item.location for item in bad}
    require_column(frame, text_column, option="--text-column", path=path)
    if label_column is not None:
        require_column(frame, label_column, option="--label-column", path=path)
    if split_column is not None:
        require_column(frame, split_column, option="--split-column", path=path)
    is_jsonl = Path(path).suffix.lower() in {".jsonl", ".json"}
    inputs, labels, splits = [], [], []
    # Plain dict rows: pandas' row Series would re-type the strings (and refuse undecodable ones).
    for position, row in enumerate(frame.to_dict(orient="records")):
        location = f"{path} {'record' if is_jsonl else 'row'} {position + (1 if is_jsonl else 2)}"
        if location in bad_locations:
            continue
        text = row[text_column]
        if _missing(text):
            bad.append(BadItem(location, f"empty '{text_column}'"))
            continue
        if label_column is not None:
            label = row[label_column]
            if _missing(label):
                bad.append(BadItem(location, f"missing label in '{label_column}'"))
                continue
            labels.append(str(label).strip())
        inputs.append(str(text))
        if split_column is not None:
            splits.append(str(row[split_column]).strip().lower())
    data = LabeledData(
        modality="text",
        inputs=inputs,
        labels=labels if label_column is not None else None,
        source=str(path),
        split=splits if split_column is not None else None,
        bad_items=bad,
    )
    return image_rows(data, folder=Path(path).parent, column=text_column)


def image_rows(data: LabeledData, *, folder: Path, column: str) -> LabeledData:
    """A table whose column names an image file in every row (absolute, or relative to the table's folder) is
    image data: each file is checked as an image folder's are, and an unusable one is a bad item with its row."""
    files = [Path(cell) if Path(cell).is_absolute() else folder / cell for cell in data.inputs]
    if not files or not all(file.suffix.lower() in IMAGE_SUFFIXES for file in files):
        return data
    keep, bad = [], list(data.bad_items)
    for index, file in enumerate(files):
        reason = check_image(file) if file.is_file() else f"no such image file (from column '{column}')"
        if reason:
            bad.append(BadItem(f"{data.source} '{data.inputs[index]}'", reason))
        else:
            keep.append(index)
    inputs = [str(files[index]) for index in keep]
    return dataclasses.replace(data.subset(keep), modality="image", inputs=inputs, bad_items=bad)
