"""Unsupervised model selection: DEV / IWV rank a working adaptation above a collapsed predictor."""

from __future__ import annotations

import lightning as L
import numpy as np
import pytest
import torch

from transferkit.adaptation.methods import get_method
from transferkit.adaptation.training import TrainConfig
from transferkit.adaptation.unsupervised_validation import dev_risk, importance_weights, iwv_risk, unsupervised_risk

from .test_methods import recipe_problem


@pytest.fixture(scope="module")
def coral_adapted(digits_recipe):
    L.seed_everything(0, verbose=False)
    return get_method("coral").fit(recipe_problem(digits_recipe), TrainConfig(weight=100.0, epochs=25))


@pytest.mark.slow
@pytest.mark.parametrize("validator", ["dev", "iwv"])
def test_validator_ranks_a_good_adaptation_above_a_collapsed_predictor(
    digits_recipe, coral_adapted, validator: str
) -> None:
    problem, good = recipe_problem(digits_recipe), coral_adapted
    collapsed_probabilities = np.tile(np.eye(10)[3] * 0.9 + 0.01, (len(problem.valid), 1))  # always "3"

    def risk(valid_probabilities: np.ndarray) -> float:
        return unsupervised_risk(
            valid_probabilities=valid_probabilities,
            valid_targets=problem.valid_targets,
            valid_features=good.source_hidden(problem.valid),
            target_features=good.target_hidden(problem.target),
            validator=validator,
        )

    good_risk, collapsed_risk = risk(good.predict_source(problem.valid)), risk(collapsed_probabilities)
    assert good_risk < collapsed_risk
    # The ranking agrees with the (hidden) target labels: the good model really is better there.
    good_accuracy = (good.predict_target(digits_recipe.target).argmax(1) == digits_recipe.target_targets).mean()
    assert good_accuracy > 0.3 > (digits_recipe.target_targets == 3).mean()


def test_importance_weights_favour_target_like_rows() -> None:
    rng = np.random.default_rng(0)
    source = rng.normal(size=(400, 2))
    target = rng.normal(size=(400, 2)) + np.array([1.5, 0.0])
    weights = importance_weights(source, target)
    assert weights.mean() == pytest.approx(1.0)
    near_target = source[:, 0] > 1.0
    assert weights[near_target].mean() > 3 * weights[~near_target].mean()


def test_dev_uses_the_control_variate_and_equals_iwv_for_constant_weights() -> None:
    losses = np.array([0.2, 0.4, 0.9, 1.2])
    assert dev_risk(losses, np.ones(4)) == pytest.approx(iwv_risk(losses, np.ones(4))) == pytest.approx(0.675)
    weights = np.array([0.5, 1.0, 1.5, 1.0])
    weighted = weights * losses
    eta = -np.cov(weighted, weights)[0, 1] / np.var(weights, ddof=1)
    assert dev_risk(losses, weights) == pytest.approx(weighted.mean() + eta * weights.mean() - eta)
    assert torch.isfinite(torch.tensor(dev_risk(losses, weights)))
