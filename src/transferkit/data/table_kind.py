"""What kind of table a file is when no option says: texts (it has the text column) or feature columns.

`transferkit fit credit.csv` on a table without a ``text`` column reads it as numeric and categorical
feature columns instead of failing on the missing text column; the run says what it inferred.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from transferkit.data.text_tables import TABLE_SUFFIXES, read_table


def table_columns(path: str | Path) -> list[str] | None:
    """The column names of a table file (its header only, for CSV / TSV / JSONL), or None for anything else."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES or not path.is_file():
        return None
    try:
        if suffix in {".csv", ".tsv"}:
            return [str(c) for c in pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", nrows=0).columns]
        if suffix == ".jsonl":
            with path.open(encoding="utf-8-sig", errors="replace") as lines:
                first = next((line for line in lines if line.strip()), "{}")
            return [str(c) for c in json.loads(first)]
        return [str(c) for c in read_table(path)[0].columns]
    except (ValueError, OSError, StopIteration):  # unreadable here: the table reader reports it properly
        return None


def inferred_table_line(path: str | Path | None, *, text_column: str, label_column: str) -> str | None:
    """The line a run prints when it reads `path` as feature columns because it has no `text_column`, else None.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "t.csv").write_text("age,city,label\\n30,Oslo,yes\\n")
        >>> inferred_table_line(folder / "t.csv", text_column="text", label_column="label")[:49]
        'Read t.csv as a table of 2 feature columns (age, '
    """
    columns = table_columns(path) if path is not None else None
    if columns is None or text_column in columns or label_column not in columns:
        return None
    features = [column for column in columns if column != label_column]
    shown = ", ".join(features[:8]) + (", ..." if len(features) > 8 else "")
    return (
        f"Read {Path(path).name} as a table of {len(features)} feature columns ({shown}): it has no "
        f"'{text_column}' column; pass --text-column to read a column as text."
    )
