"""Choosing an adapted model without target labels: importance-weighted validation and DEV.

Both estimate the target risk from labelled *source validation* rows, weighted by how target-like
each row is (density ratio from a domain classifier on the model's own features). IWV (Sugiyama
et al. 2007) is the weighted mean loss; DEV (You et al. 2019, "Deep Embedded Validation") adds a
control variate that cuts its variance. Lower is better for both. A collapsed model (one class for
everything) has a high loss on the labelled source rows, so both rank it below a working one.

Example:
    >>> import numpy as np
    >>> weights = np.array([0.5, 1.0, 1.5]); losses = np.array([0.2, 0.4, 0.9])
    >>> round(dev_risk(losses, weights), 3)
    0.617
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MAX_WEIGHT = 20.0
VALIDATORS = ("dev", "iwv")


def importance_weights(source_valid: np.ndarray, target: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Density ratios p_target(x) / p_source(x) for source validation rows, clipped and normalised to mean 1.

    The ratio comes from a cross-validated logistic-regression domain classifier, so no row is
    scored by a model that saw it.
    """
    joint = np.concatenate([source_valid, target])
    domains = np.repeat([0, 1], [len(source_valid), len(target)])
    folds = StratifiedKFold(n_splits=min(5, len(source_valid), len(target)), shuffle=True, random_state=seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000))
    probability = cross_val_predict(model, joint, domains, cv=folds, method="predict_proba")[: len(source_valid), 1]
    probability = np.clip(probability, 1e-4, 1 - 1e-4)
    weights = probability / (1 - probability) * (len(source_valid) / len(target))
    weights = np.minimum(weights, MAX_WEIGHT)
    return weights / weights.mean()


def iwv_risk(losses: np.ndarray, weights: np.ndarray) -> float:
    """Importance-weighted validation risk: mean of weight x loss."""
    return float(np.mean(weights * losses))


def dev_risk(losses: np.ndarray, weights: np.ndarray) -> float:
    """Deep Embedded Validation risk: the weighted mean loss with the control variate E[w] = 1."""
    weighted = weights * losses
    variance = np.var(weights, ddof=1) if len(weights) > 1 else 0.0
    eta = -np.cov(weighted, weights)[0, 1] / variance if variance > 1e-12 else 0.0
    return float(weighted.mean() + eta * weights.mean() - eta)


def cross_entropy(probabilities: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-row negative log-likelihood of the true class."""
    return -np.log(np.clip(probabilities[np.arange(len(targets)), targets], 1e-12, 1.0))


def unsupervised_risk(
    *,
    valid_probabilities: np.ndarray,
    valid_targets: np.ndarray,
    valid_features: np.ndarray,
    target_features: np.ndarray,
    validator: str = "dev",
    seed: int = 0,
) -> float:
    """Estimated target risk (lower is better) of one model from its source-validation predictions.

    Args:
        valid_probabilities: The model's class probabilities on labelled source validation rows.
        valid_targets: Their class indices.
        valid_features: The model's features for those rows (e.g. its hidden layer).
        target_features: The model's features for unlabelled target rows.
        validator: ``dev`` or ``iwv``.
    """
    weights = importance_weights(valid_features, target_features, seed=seed)
    losses = cross_entropy(valid_probabilities, valid_targets)
    return dev_risk(losses, weights) if validator == "dev" else iwv_risk(losses, weights)
