"""The probe's head for a number (regression): scikit-learn's cross-validated ridge on the cached embeddings.

A ridge regression has a closed form and RidgeCV picks its L2 strength by efficient leave-one-out, so on
cached embeddings the whole fit takes a fraction of a second, without an optimiser or epochs to choose.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import RidgeCV

from transferkit.models.heads import ClassifierHead

RIDGE_ALPHAS = np.logspace(-2, 5, 15)


def ridge_head(head: ClassifierHead, features: np.ndarray, targets: np.ndarray) -> dict:
    """Fit RidgeCV on the head's standardised view of `features` against the (standardised) `targets`, copy it
    into the linear `head`, and return the record of the fit (the chosen L2 strength)."""
    standardized = head.scaled(torch.as_tensor(features, dtype=torch.float32)).numpy()
    model = RidgeCV(alphas=RIDGE_ALPHAS).fit(standardized, np.asarray(targets, dtype=np.float64).reshape(len(targets)))
    linear = head.layers[-1]
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(model.coef_, dtype=torch.float32).reshape(1, -1))
        linear.bias.fill_(float(model.intercept_))
    return {"solver": "ridge (RidgeCV, leave-one-out)", "alpha": float(model.alpha_)}
