"""When nothing is held out and no cross-validated score stands in for a test score, the one line says why."""

from __future__ import annotations

from transferkit.config import RunSpec
from transferkit.workflows.fit import no_estimate_reason


def spec(strategy: str) -> RunSpec:
    return RunSpec.from_dict({"data": {"path": "digits/"}, "strategy": {"name": strategy}})


def test_auto_out_of_budget_before_any_fold_says_to_raise_the_budget_not_to_use_auto():
    reason = no_estimate_reason({"chosen": "probe", "folds": 0, "scores": {}}, spec("auto"))
    assert "budget ran out before any cross-validation fold" in reason and "--budget-minutes" in reason
    assert "--strategy auto" not in reason


def test_auto_choice_made_by_the_prior_without_folds_of_its_own_names_it():
    reason = no_estimate_reason({"chosen": "two-stage", "folds": 3, "scores": {"probe": {}}}, spec("auto"))
    assert reason.startswith("two-stage was not cross-validated") and "--test-data" in reason


def test_a_named_strategy_points_to_the_strategies_that_estimate():
    assert "--strategy auto or probe" in no_estimate_reason(None, spec("finetune"))
