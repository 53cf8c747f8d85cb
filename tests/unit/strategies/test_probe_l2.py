"""The probe's L2 strength is scikit-learn's cross-validated C, converted to our head's parametrisation."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.preprocessing import StandardScaler

from transferkit.strategies.probe import L2_GRID_C, select_weight_decay


@pytest.mark.slow
@pytest.mark.parametrize(("loader", "rows_per_vector"), [(load_breast_cancer, 2.0), (load_iris, 1.0)])
def test_weight_decay_is_a_grid_c_converted_for_the_number_of_classes(loader, rows_per_vector):
    x, y = loader(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    weight_decay = select_weight_decay(x, y, seed=0)
    implied_c = rows_per_vector / (weight_decay * len(y))
    assert np.isclose(L2_GRID_C, implied_c, rtol=1e-9).any()


@pytest.mark.slow
def test_row_space_search_matches_the_full_dimensional_one_when_dims_exceed_rows():
    """Fewer rows than dimensions (the few-shot case): searching in the rows' span must not change the answer."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from transferkit.strategies.probe import row_space_basis

    x, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    rows = np.concatenate([np.flatnonzero(y == k)[:12] for k in range(3)])
    # 36 rows, 200 dims: the iris measurements mixed into many noisy directions
    x = StandardScaler().fit_transform(np.tanh(x[rows] @ rng.normal(size=(4, 200))) + 0.3 * rng.normal(size=(36, 200)))
    y = y[rows]
    basis = row_space_basis(x)
    assert basis is not None and basis.shape == (35, 200)  # standardised columns are centred: rank n - 1
    np.testing.assert_allclose(basis @ basis.T, np.eye(35), atol=1e-8)  # orthonormal rows
    np.testing.assert_allclose(x @ basis.T @ basis, x, atol=1e-8)  # the rows lie in its span

    full = GridSearchCV(
        LogisticRegression(max_iter=5000, tol=1e-8),  # converged: the comparison is of problems, not solvers
        {"C": L2_GRID_C},
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="neg_log_loss",
    ).fit(x, y)
    implied_c = 1.0 / (select_weight_decay(x, y, seed=0) * len(y))
    assert np.isclose(implied_c, full.best_params_["C"], rtol=1e-9)
    assert row_space_basis(x[:, :30]) is None  # more rows than dims: nothing to gain, fit as is
