"""Gradient-boosted trees on a table's columns: the classic model `--strategy auto` weighs on tables.

scikit-learn's HistGradientBoostingClassifier (HistGradientBoostingRegressor for a number), fitted on the raw
columns (numbers as numbers, text columns as pandas categories it splits on natively, missing values allowed),
wrapped in a `BoostingModel` that predicts with the `Predictor` interface. Trees are not a torch graph: the
model saves as a skops file checked against an allow-list of types (`transferkit.models.boosting_io`), never a
pickle, and it does not export to ONNX.

Example:
    >>> rows = ['{"age": "%d", "city": "%s"}' % (a, c) for a, c in zip(range(20, 60), "ab" * 20)]
    >>> labels = ["young" if i < 20 else "old" for i in range(40)]
    >>> model = fit_boosting(rows, labels, seed=0, params={"max_iter": 10})
    >>> model.predict_proba(['{"age": "25", "city": "a"}']).shape
    (1, 2)
    >>> regressor = fit_boosting_regressor(rows, [float(i) for i in range(40)], params={"max_iter": 10})
    >>> regressor.predict_proba(rows[:3]).shape
    (3, 1)
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from transferkit.backbones.base import Backbone
from transferkit.errors import ArtifactError, DataError
from transferkit.modalities import get_modality
from transferkit.modalities.tabular import BOOSTING_MAX_CATEGORIES

KIND = "boosting"
DESCRIPTION = "gradient-boosted trees (scikit-learn HistGradientBoostingClassifier)"
REGRESSOR_DESCRIPTION = "gradient-boosted trees (scikit-learn HistGradientBoostingRegressor)"
# The options `--search` may tune, and the ones a model is fitted with unless tuned (scikit-learn's defaults).
DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.1,
    "max_iter": 100,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
}


def column_kinds(inputs: list[str]) -> tuple[list[str], list[str]]:
    """The columns of JSON rows, in order, and those that are categorical (a present value is not a number)."""
    frame = pd.DataFrame.from_records([json.loads(item) for item in inputs])
    categorical = []
    for column in frame.columns:
        present = frame[column].dropna()
        if len(present) and pd.to_numeric(present, errors="coerce").isna().any():
            categorical.append(str(column))
    return [str(column) for column in frame.columns], categorical


def boosting_frame(
    inputs: list[str], *, columns: list[str], categorical: list[str], kept: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    """JSON rows as the frame the trees read: `columns` in order, numbers as floats, `categorical` columns as
    category strings (those outside `kept`, when given, count as missing: the trees take at most 255 a column)."""
    frame = pd.DataFrame.from_records([json.loads(item) for item in inputs])
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"The table lacks column(s) {', '.join(missing)} that the model was trained on; add them, or map your "
            "names onto them with --column-map TRAINED=YOURS,..."
        )
    out = pd.DataFrame(index=frame.index)
    for column in columns:
        values = frame[column]
        if column in categorical:
            text = values.where(values.isna(), values.astype(str))
            if kept is not None:
                text = text.where(text.isin(kept[column]))
            out[column] = pd.Categorical(text)
        else:
            out[column] = pd.to_numeric(values, errors="coerce").astype(float)
    return out


def kept_categories(inputs: list[str], categorical: list[str]) -> dict[str, list[str]]:
    """The most frequent categories of each categorical column (at most BOOSTING_MAX_CATEGORIES)."""
    frame = pd.DataFrame.from_records([json.loads(item) for item in inputs])
    return {
        column: [str(value) for value in frame[column].dropna().astype(str).value_counts().index][
            :BOOSTING_MAX_CATEGORIES
        ]
        for column in categorical
    }


class BoostingModel:
    """A fitted HistGradientBoostingClassifier (or Regressor) over a table's columns, as a `Predictor`.

    A regressor's one output is the value in the units it was fitted on (`fit_boosting_regressor`: the regression
    task's standardised target, which the task turns back into the label's units, as it does a probe's output).

    `backbone` is the run's tabular backbone (column preprocessing, no weights): the trees do not use it, but it
    records the columns a table must have and the run's column map (trained name -> name in the user's table).
    """

    kind = KIND

    def __init__(
        self,
        *,
        estimator: Any,
        class_names: list[str],
        columns: list[str],
        categorical: list[str],
        backbone: Backbone | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.estimator = estimator
        self.class_names = list(class_names)
        self.columns = list(columns)
        self.categorical = list(categorical)
        self._backbone = backbone
        self.params = dict(params or DEFAULT_PARAMS)
        if self.is_regressor:
            self._order: list[int] = []
            return
        known = [str(name) for name in estimator.classes_]
        if sorted(known) != sorted(self.class_names):
            raise ArtifactError(f"The trees predict {known}, not the model's classes {self.class_names}.")
        self._order = [known.index(name) for name in self.class_names]

    @property
    def modality(self) -> str:
        return "tabular"

    @property
    def is_regressor(self) -> bool:
        """Whether the trees predict a number (no classes) rather than class probabilities."""
        return not hasattr(self.estimator, "classes_")

    @property
    def backbone(self) -> Backbone | None:
        return self._backbone

    def eval(self) -> BoostingModel:
        """No training mode to leave (trees); here so code that calls `.eval()` on any model works."""
        return self

    def frame(self, inputs: list[str]) -> pd.DataFrame:
        """The rows (in the user's column names) as the frame the trees read."""
        column_map = getattr(self._backbone, "column_map", None) or {}
        if column_map:
            renamed = []
            for item in inputs:
                row = json.loads(item)
                renamed.append(json.dumps({old: row.get(new) for old, new in column_map.items()} | row))
            inputs = renamed
        return boosting_frame(inputs, columns=self.columns, categorical=self.categorical)

    def predict_proba(
        self, inputs: list[str], *, batch_size: int = 32, embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Class probabilities, columns in `class_names` order (`batch_size`, `embeddings`: unused, the trees read
        the whole table at once)."""
        if not len(inputs):
            return np.zeros((0, len(self.class_names)))
        if self.is_regressor:  # one column: the value, as a regression head's output
            return self.estimator.predict(self.frame(list(inputs))).reshape(-1, 1)
        return self.estimator.predict_proba(self.frame(list(inputs)))[:, self._order]

    # --- export: trees are not a torch graph -----------------------------------------------------------
    def model_inputs(self, inputs: list[str]) -> tuple[tuple[Any, ...], list[str]]:
        raise ArtifactError(
            "This model is gradient-boosted trees (chosen by strategy auto on a table) and does not export to ONNX, "
            "TorchScript or a bundle; predict through the model folder, or refit with --strategy probe to export."
        )

    def forward_tensors(self, *tensors: Any) -> Any:
        return self.model_inputs([])

    def activate(self, outputs: Any) -> Any:
        return self.model_inputs([])


def trees_modality(modality: str) -> bool:
    """Whether `modality`'s classic model is gradient-boosted trees (its recipe says so; tables today).

    Example:
        >>> trees_modality("tabular"), trees_modality("text")
        (True, False)
    """
    recipe = get_modality(modality).classic
    return recipe is not None and recipe.model == "trees"


def make_estimator(*, seed: int, params: dict[str, Any] | None = None, regression: bool = False) -> Any:
    """The unfitted trees with `params` over DEFAULT_PARAMS (categories from the frame's dtypes); a
    HistGradientBoostingRegressor (squared error) with `regression`."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    options = DEFAULT_PARAMS | dict(params or {})
    kind = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
    return kind(categorical_features="from_dtype", random_state=seed, **options)


def fit_boosting(
    inputs: list[str],
    labels: list[str],
    *,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    class_names: list[str] | None = None,
    backbone: Backbone | None = None,
) -> BoostingModel:
    """Fit the trees on JSON rows and their labels; `class_names` orders the output columns (default: sorted)."""
    columns, categorical = column_kinds(inputs)
    frame = boosting_frame(inputs, columns=columns, categorical=categorical, kept=kept_categories(inputs, categorical))
    estimator = make_estimator(seed=seed, params=params).fit(frame, list(labels))
    return BoostingModel(
        estimator=estimator,
        class_names=class_names or sorted(set(labels)),
        columns=columns,
        categorical=categorical,
        backbone=backbone,
        params=DEFAULT_PARAMS | dict(params or {}),
    )


def fit_boosting_regressor(
    inputs: list[str],
    values: list[float] | np.ndarray,
    *,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    output_names: list[str] | None = None,
    backbone: Backbone | None = None,
) -> BoostingModel:
    """Fit regression trees on JSON rows and their numeric targets (auto passes the task's standardised values,
    so the model's output is what a regression head outputs)."""
    columns, categorical = column_kinds(inputs)
    frame = boosting_frame(inputs, columns=columns, categorical=categorical, kept=kept_categories(inputs, categorical))
    targets = np.asarray(values, dtype=np.float64).reshape(len(inputs))
    estimator = make_estimator(seed=seed, params=params, regression=True).fit(frame, targets)
    return BoostingModel(
        estimator=estimator,
        class_names=output_names or ["value"],
        columns=columns,
        categorical=categorical,
        backbone=backbone,
        params=DEFAULT_PARAMS | dict(params or {}),
    )
