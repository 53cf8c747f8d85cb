"""`--search N`: an Optuna search over the options of the candidate strategy auto chose, judged like the choice.

After `--strategy auto` has chosen, up to N trials of Optuna's TPE sampler (seeded with ``--seed``: the same
trials in the same order on every run) try that candidate's options on the same cross-validation folds its
default options were scored on. Optuna's ``timeout`` stops starting trials when the run's budget
(``--budget-minutes``) is spent. The best trial replaces the defaults only when it beats them by more than
`NOISE_STANDARD_ERRORS` standard errors of the paired per-fold differences, the rule that lets
cross-validation override the prior: the best of N noisy trials is optimistic, so a gain within the noise keeps
the defaults. What each candidate searches (`SPACES`):

- probe: the L2 strength, as a factor on the C the choice scored (log scale, 1/100 to 100);
- classic on a table (gradient-boosted trees): learning rate, leaves per tree, rows per leaf, L2, trees;
- two-stage / contrastive: the fine-tuning learning rate and epochs (each trial fine-tunes once per fold).

Classic text / image and concat models have no searched options (their L2 strength is cross-validated inside).

Example::

    record = run_search(space=SPACES["classic"], scorer_for=scorer_for, folds=folds, default_folds=defaults,
                        trials=20, timeout=60.0, seed=0)
    record["adopted"], record["best_params"]
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from transferkit.errors import require
from transferkit.models.boosting import trees_modality
from transferkit.strategies.choice import MIN_PAIRED_FOLDS, NOISE_STANDARD_ERRORS, Scorer, paired_margin

Space = Callable[[Any], dict[str, Any]]  # an Optuna trial -> the options it tries


def probe_space(trial: Any) -> dict[str, Any]:
    return {"c_factor": trial.suggest_float("c_factor", 1e-2, 1e2, log=True)}


def boosting_space(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 4, 64, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 2, 50, log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-4, 10.0, log=True),
        "max_iter": trial.suggest_int("max_iter", 50, 300, log=True),
    }


def fine_tune_space(trial: Any) -> dict[str, Any]:
    return {
        "lr": trial.suggest_float("lr", 1e-5, 1e-3, log=True),
        "epochs": trial.suggest_int("epochs", 2, 8),
    }


SPACES: dict[str, Space] = {"probe": probe_space, "two-stage": fine_tune_space, "contrastive": fine_tune_space}
TREES_SPACE: Space = boosting_space  # "classic" on a table


def space_for(name: str, modality: str) -> Space | None:
    """What `--search` tries for candidate `name` on `modality` data; None: nothing to search."""
    if name == "classic":
        return TREES_SPACE if trees_modality(modality) else None
    return SPACES.get(name)


def run_search(
    *,
    space: Space,
    scorer_for: Callable[[dict[str, Any]], Scorer],
    folds: list[tuple[list[int], list[int]]],
    default_folds: list[float],
    trials: int,
    timeout: float,
    seed: int,
) -> dict[str, Any]:
    """Up to `trials` TPE trials (stopped after `timeout` seconds) scored on `folds`, against the defaults' scores on
    the same folds (`default_folds`); returns the record metrics.json keeps under selection.search."""
    optuna = require("optuna", extra="search", purpose="--search")
    optuna.logging.set_verbosity(logging.WARNING)
    started = time.perf_counter()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))

    deadline = started + timeout

    def objective(trial: Any) -> float:
        scorer = scorer_for(space(trial))
        values = []
        for train, test in folds:
            if time.perf_counter() > deadline:  # Optuna's timeout only stops new trials: stop this one's folds too
                raise optuna.TrialPruned
            values.append(scorer(train, test))
        trial.set_user_attr("folds", values)
        return float(np.mean(values))

    study.optimize(objective, n_trials=trials, timeout=max(timeout, 1e-3))
    done = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    record: dict[str, Any] = {
        "requested": trials,
        "trials": len(done),
        "sampler": f"optuna TPESampler(seed={seed})",
        "timeout_seconds": round(timeout, 1),
        "stopped_by": "trials" if len(done) >= trials else "budget",
        "seconds": round(time.perf_counter() - started, 2),
        "default_score": round(float(np.mean(default_folds)), 4),
        "folds": len(folds),
    }
    if not done:
        why = "no trial finished within the budget: the defaults stand"
        return record | {"adopted": False, "why": why, "line": f"Search: {why}."}
    best = study.best_trial
    paired = paired_margin(best.user_attrs["folds"], default_folds)
    noise = NOISE_STANDARD_ERRORS * paired["standard_error"]
    adopted = paired["folds"] >= MIN_PAIRED_FOLDS and paired["mean"] > noise and math.isfinite(noise)
    why = (
        f"the best trial beat the defaults by {paired['mean']:.3f} > {noise:.3f} (2 paired standard errors)"
        if adopted
        else f"the best trial's gain over the defaults, {paired['mean']:.3f}, is within the noise ({noise:.3f}, 2 "
        f"paired standard errors over {paired['folds']} folds): the defaults stand"
    )
    record |= {
        "best_params": dict(best.params),
        "best_score": round(float(best.value), 4),
        "gain": paired["mean"],
        "standard_error": paired["standard_error"],
        "adopted": adopted,
        "why": why,
    }
    return record | {"line": search_line(record)}


def search_line(record: dict[str, Any]) -> str:
    """One line for the console, the report and the model card: trials, best vs defaults with its noise, outcome.

    Example:
        >>> search_line({"trials": 3, "requested": 5, "sampler": "TPE", "seconds": 2.0, "best_score": 0.9,
        ...              "default_score": 0.88, "gain": 0.02, "standard_error": 0.005, "folds": 9, "adopted": True,
        ...              "best_params": {"max_iter": 95}, "why": "..."})[:66]
        'Search: 3 of 5 trials (TPE, 2 s): best 0.900 vs the defaults 0.880'
    """
    if "best_score" not in record:
        return f"Search: {record['why']}."
    params = ", ".join(
        f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in record["best_params"].items()
    )
    outcome = f"adopted: {params}" if record["adopted"] else f"not adopted ({record['why']}); best was {params}"
    return (
        f"Search: {record['trials']} of {record['requested']} trials ({record['sampler']}, {record['seconds']:.0f} s): "
        f"best {record['best_score']:.3f} vs the defaults {record['default_score']:.3f}, gain {record['gain']:+.3f} "
        f"(paired standard error {record['standard_error']:.3f} over {record['folds']} folds); {outcome}."
    )
