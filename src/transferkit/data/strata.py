"""Splitting by keys other than the labels: a task whose labels are not classes (a number, a set of labels)
says what to stratify on (bins of the number; one key for all rows: a random split), and the usual splitter
(`split_data`: user splits, fractions, --limit, the tiny-data fallback) runs on those keys.

Example:
    >>> data = LabeledData("text", [f"row {i}" for i in range(100)], [str(v) for v in range(100)], "numbers")
    >>> splits = split_by_keys(data, ["low"] * 50 + ["high"] * 50, valid_fraction=0.2, test_fraction=0.2, seed=0)
    >>> sorted(len(part) for part in (splits.train, splits.valid, splits.test))
    [16, 20, 64]
    >>> splits.test.labels[0] in data.labels  # the rows keep their own labels
    True
"""

from __future__ import annotations

import dataclasses
from typing import Any

from transferkit.data.dataset import LabeledData
from transferkit.data.splits import Splits, split_data


def split_by_keys(data: LabeledData, keys: list[str], **split_options: Any) -> Splits:
    """`split_data` of `data`, stratified on `keys` (one per row) instead of the labels.

    The splitter runs on stand-in rows whose input is the row's position and whose label is its key; each
    split is then the real rows at those positions. Your own --valid-data / --test-data pass through as given.
    """
    stand_in = LabeledData(
        modality=data.modality,
        inputs=[str(position) for position in range(len(data))],
        labels=list(keys),
        source=data.source,
        split=data.split,
    )
    parts = split_data(stand_in, **split_options)
    given = [part for part in (split_options.get("valid_data"), split_options.get("test_data")) if part is not None]

    def real(part: LabeledData | None) -> LabeledData | None:
        if part is None or any(part is own for own in given):
            return part
        return data.subset([int(position) for position in part.inputs])

    return dataclasses.replace(parts, train=real(parts.train), valid=real(parts.valid), test=real(parts.test))
