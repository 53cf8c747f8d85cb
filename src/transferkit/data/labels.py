"""Label cells beyond one class: a set of labels in one cell (``Drama|Comedy``), several 0/1 label columns, or a
number. The task plugins (`transferkit.tasks`) decide what the labels mean; these helpers only read them.

Example:
    >>> split_label_set("Drama| Comedy", "|")
    ['Comedy', 'Drama']
    >>> split_label_set("|", "|")  # a cell holding only the separator: an example with no label
    []
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from transferkit.errors import DataError

TRUE_CELLS = {"1", "1.0", "true", "yes", "y", "t"}
FALSE_CELLS = {"0", "0.0", "false", "no", "n", "f", ""}


def split_label_set(cell: str, separator: str) -> list[str]:
    """The sorted, de-duplicated labels of one cell; empty parts (and a cell of only the separator) drop out."""
    return sorted({part.strip() for part in str(cell).split(separator) if part.strip()})


def join_label_set(labels: Sequence[str], separator: str) -> str:
    """One cell of `labels` (the separator alone for an empty set, so that readers keep the row)."""
    return separator.join(sorted(labels)) if labels else separator


def combine_label_columns(frame: pd.DataFrame, columns: list[str], *, separator: str, path: object) -> list[str]:
    """Per row, the names of the 0/1 `columns` that hold 1, joined by `separator` (`--label-columns`)."""
    flags = {}
    for column in columns:
        cells = frame[column].map(lambda value: "" if value is None else str(value).strip().lower())
        unknown = sorted(set(cells) - TRUE_CELLS - FALSE_CELLS)
        if unknown:
            raise DataError(
                f"Label column '{column}' of {path} holds {', '.join(map(repr, unknown[:3]))}; --label-columns "
                "take 0/1 (or true/false) columns. Use --label-column with --label-separator for a column of names."
            )
        flags[column] = cells.isin(TRUE_CELLS).tolist()
    return [join_label_set([c for c in columns if flags[c][row]], separator) for row in range(len(frame))]


def as_number(cell: str) -> float | None:
    """The finite number a label cell holds, else None."""
    try:
        value = float(cell)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
