"""`--strategy auto` for a number (task regression): the probe's ridge against gradient-boosted regression trees.

On a table the default weighs what a data scientist would try first, scikit-learn's HistGradientBoostingRegressor
on the raw columns, against the probe (the cross-validated ridge `--strategy probe` fits on the scaled columns or
a backbone's embeddings, `transferkit.strategies.ridge`). Both are scored by R² on the same repeated K folds of
the training split, each fitted on the fold's standardised target as the saved model is, and the choice follows
the classification rule (`transferkit.strategies.choice.decide_with_prior`): the recorded prior's pick
(`policy.json`'s regression entries, else the probe) stands unless the other candidate beats it by more than 2
standard errors of the paired per-fold differences. The winner is fitted on the whole training split; trees save
as allow-listed skops (`transferkit.models.boosting_io`), like the classifier trees.

Both spend from auto's one deadline (`transferkit.strategies.auto_budget`): folds stop between folds when it passes
(less the reserves for scoring the held-out rows and saving), and the probe's final fit carries Lightning's
``max_time`` from what is left; a started trees fit cannot be stopped.

Fine-tuned candidates (two-stage) are not cross-validated for a number here: pass ``--strategy two-stage``.

Example::

    result = transferkit.fit("houses.csv", label_column="price")  # task regression, inferred from the labels
    result.metrics["selection"]["chosen"], result.metrics["selection"]["metric"]  # ('classic', 'r2')
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

from transferkit.backbones.base import Backbone
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.engine.targets import RegressionTarget
from transferkit.models.boosting import fit_boosting_regressor, trees_modality
from transferkit.strategies.auto_budget import Deadline, score_repeated_within_deadline
from transferkit.strategies.base import StrategyResult, get_strategy
from transferkit.strategies.choice import decide_with_prior
from transferkit.strategies.policy import prior_for
from transferkit.strategies.probe import uniform_scaling
from transferkit.strategies.ridge import RIDGE_ALPHAS

METRIC = "r2"
REPEATS = 3  # repeated K folds while the candidates cost little: paired differences need several
BUDGET_SHARE = 0.25  # ... while they have used less than this share of the budget
FINAL_FIT_FLOOR_SECONDS = 10.0  # the probe's final fit is never limited below this
# Training rows per size bucket of a regression prior: about a four-class table's rows at the classification
# buckets' bounds (8 / 24 / 64 examples in the smallest class).
ROW_BUCKETS = (("tiny", 32), ("small", 96), ("medium", 256))
Folds = list[tuple[list[int], list[int]]]


def regression_bucket(rows: int) -> str:
    """The size bucket of a regression training split of `rows` rows.

    Example:
        >>> regression_bucket(20), regression_bucket(300)
        ('tiny', 'large')
    """
    for name, upper in ROW_BUCKETS:
        if rows <= upper:
            return name
    return "large"


def regression_folds(rows: int, *, seed: int) -> Folds:
    """Shuffled K folds (5 from 50 rows, else 3; 2 below 6 rows) of `rows` rows, as (train rows, test rows)."""
    splits = 5 if rows >= 50 else 3 if rows >= 6 else 2
    folds = KFold(splits, shuffle=True, random_state=seed).split(np.zeros(rows))
    return [(list(map(int, a)), list(map(int, b))) for a, b in folds]


def ridge_r2(embeddings: np.ndarray, values: np.ndarray, train: list[int], test: list[int]) -> float:
    """R² on `test` rows of the probe's regression head fitted on `train` rows: standardised features (one common
    scale with fewer rows than dimensions, as the probe scales them) and RidgeCV over the probe's alphas."""
    scaler = StandardScaler().fit(embeddings[train])
    if uniform_scaling(len(train), embeddings.shape[1]):
        scaler.scale_ = np.full_like(scaler.scale_, float(scaler.scale_.mean()))
    model = RidgeCV(alphas=RIDGE_ALPHAS).fit(scaler.transform(embeddings[train]), values[train])
    return float(r2_score(values[test], model.predict(scaler.transform(embeddings[test]))))


def trees_r2(
    data: LabeledData, values: np.ndarray, train: list[int], test: list[int], *, seed: int, params: dict | None = None
) -> float:
    """R² on `test` rows of regression trees fitted on `train` rows (fitted as the saved model is)."""
    model = fit_boosting_regressor([data.inputs[i] for i in train], values[train], seed=seed, params=params)
    return float(r2_score(values[test], model.predict_proba([data.inputs[i] for i in test])[:, 0]))


def not_scored(train: LabeledData, backbone: Backbone) -> dict[str, str]:
    """The candidates auto weighs for classification but not for a number, and why."""
    fine_tune = (
        "not cross-validated for a number (auto's fold fine-tunes score classes); pass --strategy two-stage to "
        "fine-tune for regression"
        if backbone.trainable
        else f"{backbone.spec} cannot be fine-tuned (frozen features only)"
    )
    skipped = {"two-stage": fine_tune, "contrastive": "it pulls together examples of one class; a number has none"}
    if trees_modality(train.modality):
        skipped["concat"] = f"no classic features to concatenate for {train.modality} data (classic: boosted trees)"
        if importlib.util.find_spec("skops") is None:  # the trees could not be saved without pickle
            skipped["classic"] = "gradient-boosted trees save through skops: pip install 'transferkit[tables]'"
    else:
        reason = f"no regression variant of the classic features for {train.modality} data"
        skipped |= {"classic": reason, "concat": reason}
    return skipped


def select_regression(
    *,
    backbone: Backbone,
    train: LabeledData,
    embeddings: np.ndarray,
    target: RegressionTarget,
    spec: RunSpec,
    deadline: Deadline | None = None,
    reserve: float = 0.0,
) -> dict[str, Any]:
    """Score the probe (and, on a table, the trees) by R² on repeated K folds and decide as auto does; the record
    metrics.json keeps under "selection" (with ``"metric": "r2"``). Folds spend from `deadline` (a new one of the
    run's budget unless given) and leave `reserve` seconds of it."""
    started = time.perf_counter()
    budget = spec.run.budget_minutes * 60 * (4.0 if spec.run.preset == "best" else 1.0)
    deadline = deadline or Deadline(budget)
    values = target.encode(train.labels or []).numpy().reshape(len(train))
    skipped = not_scored(train, backbone)
    seed = spec.run.seed
    scorers = {"probe": lambda a, b: ridge_r2(embeddings, values, a, b)}
    if trees_modality(train.modality) and "classic" not in skipped:
        scorers["classic"] = lambda a, b: trees_r2(train, values, a, b, seed=seed)
    scores, folds = score_repeated_within_deadline(
        scorers,
        lambda repeat: regression_folds(len(train), seed=seed + repeat),
        deadline=deadline,
        keep=reserve,
        skipped=skipped,
        repeats=REPEATS,
        share=BUDGET_SHARE,
    )
    bucket = regression_bucket(len(train))
    prior = prior_for(train.modality, spec.backbone.spec or "", per_class=len(train), task="regression", bucket=bucket)
    eligible = list(dict.fromkeys(["probe", *scores]))  # the probe is the fallback, scored or not
    selection = decide_with_prior(scores, prior=prior, eligible=eligible, folds=folds, skipped=skipped)
    return selection | {
        "metric": METRIC,
        "budget_seconds": round(deadline.seconds, 1),
        "seconds": round(time.perf_counter() - started, 2),
        "estimate_seconds": {},
        "cut": deadline.cut,
    }


def fit_regression(
    *,
    backbone: Backbone,
    train: LabeledData,
    valid: LabeledData | None,
    spec: RunSpec,
    run_dir: Path,
    target: RegressionTarget,
    embeddings: np.ndarray,
    deadline: Deadline | None = None,
    reserve: float = 0.0,
) -> StrategyResult:
    """Choose (`select_regression`) and fit the winner on the whole training split, in what is left of `deadline`
    less `reserve` seconds; the result auto saves."""
    deadline = deadline or Deadline(spec.run.budget_minutes * 60 * (4.0 if spec.run.preset == "best" else 1.0))
    selection = select_regression(
        backbone=backbone, train=train, embeddings=embeddings, target=target, spec=spec, deadline=deadline,
        reserve=reserve,
    )  # fmt: skip
    if spec.run.search:
        why = "not run for a number yet: the choice between probe and trees is kept with their defaults"
        selection["search"] = {"requested": spec.run.search, "trials": 0, "adopted": False, "why": why}
        selection["search"]["line"] = f"Search: {why}."
    started = time.perf_counter()
    if selection["chosen"] == "classic":
        values = target.encode(train.labels or []).numpy().reshape(len(train))
        model = fit_boosting_regressor(
            train.inputs, values, seed=spec.run.seed, output_names=target.output_names, backbone=backbone
        )
        result = StrategyResult(model=model, backbone_trained=False)
    else:
        base = spec.with_overrides({"run.search": 0}) if spec.run.search else spec
        limit = max(deadline.left() - reserve, FINAL_FIT_FLOOR_SECONDS) / 60  # stopped at the deadline
        if spec.run.max_minutes is not None:
            limit = min(limit, spec.run.max_minutes)
        inner = base.with_strategy("probe", source="strategy auto").with_overrides({"run.max_minutes": limit})
        result = get_strategy("probe").fit(
            backbone=backbone, train=train, valid=valid, spec=inner, run_dir=run_dir, target=target
        )
    selection["final_fit_seconds"] = round(time.perf_counter() - started, 2)
    selection["budget_used_seconds"] = round(deadline.spent(), 2)
    result.chosen, result.selection = selection["chosen"], selection
    return result
