"""What `predict` reads for a model of a given modality (files, folders or tables), with bad files reported."""

from __future__ import annotations

from pathlib import Path

from transferkit.data.validation import describe_bad_items
from transferkit.errors import DataError
from transferkit.modalities.registry import get_modality


def read_prediction_inputs(
    modality: str,
    paths: list[str | Path],
    *,
    text_column: str = "text",
    feature_columns: list[str] | None = None,
    skip_bad_files: bool = False,
) -> list[str]:
    """The items in `paths` for a `modality` model; unusable files raise DataError unless `skip_bad_files`.

    Example::

        read_prediction_inputs("image", ["photos/"], skip_bad_files=True)
    """
    items, bad = get_modality(modality).read_inputs(
        list(paths), text_column=text_column, feature_columns=feature_columns
    )
    if bad and not skip_bad_files:
        raise DataError(
            f"{len(bad)} unusable input(s): {describe_bad_items(bad)}. Remove them or pass --skip-bad-files."
        )
    return items
