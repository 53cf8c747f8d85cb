"""`--task auto`: which task the labels describe, from the labels themselves.

- every label a number (nan / inf included, for regression to name them), with more than `MIN_DISTINCT_VALUES`
  distinct finite values: regression;
- some label cell holds the separator (``Drama|Comedy``), or --label-columns is given: multi-label;
- otherwise: single-label classification (a rating 1-5 stays five classes).

Example:
    >>> infer_task([str(v / 3) for v in range(40)], separator="|")[0]
    'regression'
    >>> infer_task(["Drama|Comedy", "Drama"], separator="|")[0]
    'multilabel'
    >>> infer_task(["1", "2", "5"], separator="|")[0]
    'classification'
"""

from __future__ import annotations

from collections.abc import Sequence

from transferkit.data.labels import as_number

MIN_DISTINCT_VALUES = 20


def infer_task(labels: Sequence[str], *, separator: str, label_columns: bool = False) -> tuple[str, str]:
    """(task name, why) for these training labels."""
    if label_columns:
        return "multilabel", "--label-columns names several 0/1 label columns"
    distinct = set(labels)
    finite = [label for label in distinct if as_number(label) is not None]
    # nan / inf cells still say "numbers": regression then names them (a class per value would not)
    if distinct and all(_parses(label) for label in distinct) and len(finite) > MIN_DISTINCT_VALUES:
        return "regression", f"every label is a number, with {len(distinct)} distinct values"
    with_separator = sum(separator in label for label in labels)
    if with_separator:
        return "multilabel", f"{with_separator} label cell(s) hold several labels separated by '{separator}'"
    return "classification", f"{len(distinct)} distinct labels, one per example"


def _parses(label: str) -> bool:
    try:
        float(label)
    except (TypeError, ValueError):
        return False
    return True
