"""What an estimator's X is: texts, image paths, or table rows (a DataFrame or a 2-D numeric array).

A 1-D X of strings is texts unless every item is an existing image file (then images); a DataFrame or any 2-D X
is a table whose rows the tabular backbones read (a numeric array's columns are named ``x0``, ``x1``, ...).

Example:
    >>> kind_of(["a great film", "dull"], "auto")
    'text'
    >>> kind_of(np.zeros((3, 2)), "auto")
    'tabular'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data

from transferkit.data.feature_tables import row_json
from transferkit.data.images import IMAGE_SUFFIXES

INPUT_KINDS = ("auto", "text", "image", "tabular")


def kind_of(X: Any, input_kind: str) -> str:
    """The modality of `X`: `input_kind` unless it is "auto", then inferred from X's shape and items."""
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {', '.join(INPUT_KINDS)}; got {input_kind!r}.")
    if input_kind != "auto":
        return input_kind
    if isinstance(X, pd.DataFrame) or _is_sparse(X) or ndim_of(X) == 2:
        return "tabular"
    items = list(X)
    if items and all(isinstance(item, str | Path) and _is_image_file(item) for item in items):
        return "image"
    if not all(isinstance(item, str) for item in items):
        raise ValueError(
            "A 1-D X must hold texts (strings) or image paths; for numeric features pass a 2-D array of shape "
            "(n_samples, n_features), e.g. X.reshape(-1, 1) for a single feature, or a DataFrame."
        )
    return "text"


def ndim_of(X: Any) -> int:
    """X's number of dimensions without NumPy's array-function protocol (array-likes may refuse it)."""
    return len(X.shape) if hasattr(X, "shape") else np.asarray(X, dtype=object).ndim


def _is_sparse(X: Any) -> bool:
    return hasattr(X, "toarray") and hasattr(X, "nnz")


def _is_image_file(item: str | Path) -> bool:
    path = Path(item)
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def table_frame(estimator: Any, X: Any, *, reset: bool) -> pd.DataFrame:
    """X as a DataFrame of the columns seen at fit, checked by scikit-learn (feature count and names; NaN
    is allowed: the tabular preprocessing imputes it)."""
    if _is_sparse(X):
        raise TypeError("Sparse input is not supported; pass a dense array or a DataFrame of feature columns.")
    values = validate_data(estimator, X, reset=reset, dtype=None, ensure_all_finite="allow-nan", ensure_min_samples=1)
    names = getattr(estimator, "feature_names_in_", None)
    columns = [str(name) for name in names] if names is not None else [f"x{i}" for i in range(values.shape[1])]
    frame = pd.DataFrame(values, columns=columns)
    if reset and not (values.dtype == object or pd.api.types.is_numeric_dtype(values.dtype)):
        raise ValueError(f"Feature values of dtype {values.dtype} are not supported; pass numbers or strings.")
    return frame


def item_list(X: Any, *, kind: str) -> list[str]:
    """Texts or image paths of a 1-D X, as strings."""
    if ndim_of(X) != 1:
        raise ValueError(f"{kind} input must be 1-D (one {kind} item per row); got {ndim_of(X)} dimensions.")
    items = [str(item) for item in X]
    if not items:
        raise ValueError("Found array with 0 sample(s) (shape=(0,)) while a minimum of 1 is required.")
    return items


def model_rows(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """The rows as the JSON inputs a tabular model reads."""
    return [row_json(record, columns) for record in frame.to_dict(orient="records")]
