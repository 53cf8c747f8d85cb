"""The shared machinery of the scikit-learn estimators: X and y written as a table, `transferkit.fit` on it in a
run folder (temporary unless `output_dir` is given), the fitted model and task kept for `predict`.

scikit-learn's conventions hold: `__init__` stores its keyword arguments as given and does nothing else (so
`get_params` / `set_params` / `clone` work), `fit` validates, trains and returns self, fitted attributes end
in ``_``.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from transferkit.estimators.inputs import item_list, kind_of, model_rows, table_frame
from transferkit.workflows.fit import fit as fit_run

LABEL_COLUMN = "__target__"
ITEM_COLUMN = {"text": "text", "image": "path"}
# The probe: cross_val_score and GridSearchCV refit many times, and strategy "auto" would cross-validate inside
# every refit; pass strategy="auto" (or any strategy) to choose otherwise.
DEFAULT_STRATEGY = "probe"


class TransferEstimator(BaseEstimator):
    """Base of the transferkit estimators; subclasses set `task` and turn labels into label cells and back."""

    task: str = ""

    def __init__(
        self,
        *,
        backbone: str | None = None,
        strategy: str = DEFAULT_STRATEGY,
        epochs: int | None = None,
        lr: float | None = None,
        valid_fraction: float = 0.15,
        input_kind: str = "auto",
        output_dir: str | None = None,
        seed: int = 0,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.backbone = backbone
        self.strategy = strategy
        self.epochs = epochs
        self.lr = lr
        self.valid_fraction = valid_fraction
        self.input_kind = input_kind
        self.output_dir = output_dir
        self.seed = seed
        self.options = options

    # --- subclass hooks ------------------------------------------------------------------------------
    def _label_cells(self, y: Any, n_rows: int) -> list[str]:
        """Checked targets as the label cells of the training table; sets the fitted target attributes."""
        raise NotImplementedError

    # --- fitting -------------------------------------------------------------------------------------
    def _fit_run(self, X: Any, y: Any) -> None:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        self.input_kind_ = kind_of(X, self.input_kind)
        table = self._training_table(X)
        if len(table) < 2:
            raise ValueError(f"n_samples={len(table)}: training needs at least two labelled rows.")
        table[LABEL_COLUMN] = self._label_cells(y, len(table))
        work = Path(tempfile.mkdtemp(prefix="transferkit-estimator-"))
        try:
            data_path = work / "train.csv"
            table.to_csv(data_path, index=False)
            result = fit_run(data_path, **self._run_options(table, work))
            self.model_, self.task_ = result.model, result.task
            self.metrics_ = result.metrics
            self.run_dir_ = result.run_dir if self.output_dir is not None else None
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _training_table(self, X: Any) -> pd.DataFrame:
        if self.input_kind_ == "tabular":
            return table_frame(self, X, reset=True)
        for attribute in ("n_features_in_", "feature_names_in_"):  # refitted on texts after a table
            self.__dict__.pop(attribute, None)
        return pd.DataFrame({ITEM_COLUMN[self.input_kind_]: item_list(X, kind=self.input_kind_)})

    def _run_options(self, table: pd.DataFrame, work: Path) -> dict[str, Any]:
        """`transferkit.fit`'s keyword options: the estimator's parameters, then `options`."""
        options: dict[str, Any] = {
            "task": self.task,
            "label_column": LABEL_COLUMN,
            "strategy": self.strategy,
            "valid_fraction": self.valid_fraction,
            "test_fraction": 0.0,  # scikit-learn scores on its own held-out data
            "seed": self.seed,
            "output_dir": str(self.output_dir if self.output_dir is not None else work / "runs"),
            "name": f"{type(self).__name__.lower()}-{uuid.uuid4().hex[:8]}",
            "report": self.output_dir is not None,  # a temporary run folder is removed unread
        }
        if self.input_kind_ == "tabular":
            options["feature_columns"] = [c for c in table.columns if c != LABEL_COLUMN]
        else:
            options["text_column"] = ITEM_COLUMN[self.input_kind_]
        given = {"backbone": self.backbone, "epochs": self.epochs, "lr": self.lr}
        options |= {key: value for key, value in given.items() if value is not None}
        return options | dict(self.options or {})

    # --- predicting ----------------------------------------------------------------------------------
    def _outputs(self, X: Any) -> np.ndarray:
        """The model's raw outputs (probabilities or standardised values) for X, one row per item."""
        check_is_fitted(self, "model_")
        if self.input_kind_ == "tabular":
            frame = table_frame(self, X, reset=False)
            items = model_rows(frame, list(frame.columns))
        else:
            items = item_list(X, kind=self.input_kind_)
        return np.asarray(self.model_.predict_proba(items), dtype=np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # tables: the preprocessing imputes missing values
        tags.input_tags.string = True  # texts and image paths
        tags.non_deterministic = False
        return tags
