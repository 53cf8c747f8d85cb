"""The probe's L2 strength is scikit-learn's cross-validated C, converted to our head's parametrisation."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.preprocessing import StandardScaler

from transferkit.strategies.probe import L2_GRID_C, select_weight_decay


@pytest.mark.parametrize(("loader", "rows_per_vector"), [(load_breast_cancer, 2.0), (load_iris, 1.0)])
def test_weight_decay_is_a_grid_c_converted_for_the_number_of_classes(loader, rows_per_vector):
    x, y = loader(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    weight_decay = select_weight_decay(x, y, seed=0)
    implied_c = rows_per_vector / (weight_decay * len(y))
    assert np.isclose(L2_GRID_C, implied_c, rtol=1e-9).any()
