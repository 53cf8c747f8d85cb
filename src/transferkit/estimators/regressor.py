"""`TransferRegressor`: one number per item from a pretrained backbone.

Example::

    reg = TransferRegressor(backbone="tabular:columns").fit(houses, prices)
    reg.predict(new_houses)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_array, column_or_1d

from transferkit.estimators.base import TransferEstimator


class TransferRegressor(RegressorMixin, TransferEstimator):
    """A pretrained backbone + a linear output standardised on the training targets (the probe: a
    cross-validated ridge on the frozen embeddings). Parameters as for `TransferClassifier`; `score` is R²."""

    task = "regression"

    def fit(self, X: Any, y: Any) -> TransferRegressor:
        """Train on items X and their numeric targets y; returns self."""
        self._fit_run(X, y)
        return self

    def _label_cells(self, y: Any, n_rows: int) -> list[str]:
        values = column_or_1d(check_array(y, ensure_2d=False, dtype=np.float64, input_name="y"), warn=True)
        if len(values) != n_rows:
            raise ValueError(f"X has {n_rows} rows but y has {len(values)}; give one number per row.")
        return [repr(float(value)) for value in values]

    def predict(self, X: Any) -> np.ndarray:
        """The predicted number of each item."""
        outputs = self._outputs(X)  # checks that the estimator is fitted
        return self.task_.values(outputs)
