"""An ensemble of auto's cheap candidates, scored out of fold, and saved when it beats the choice (issue 21).

When the probe and the classic / concat models each have a first round of cross-validation folds, their
out-of-fold class probabilities are averaged with weights chosen out of fold: for each fold, the weights (a grid
on the simplex in steps of `WEIGHT_STEP`; a member may get none) that score best on the *other* folds'
out-of-fold rows are applied to the fold's own rows, so no fold's weights have seen it. Those per-fold accuracies
are paired with the saved choice's folds and judged by the same noise rule as the choice (a mean gain above 2
paired standard errors over at least 3 folds; at the tiny size bucket also at least choice.TINY_MIN_MARGIN, as CV
needs to override the prior there). The record goes into ``selection["ensemble"]``.

It runs last, from what is left of the budget, only when one more round of the members' folds (priced at their
measured first round) fits before the chosen model's final fit and the reserve for saving. When it wins
(`would_win`) and the weights chosen on all the folds' rows keep two members or more (`saved_weights`), auto fits
those members' final models on every training row and saves them as one `models.ensemble.EnsembleModel`, if their
final fits fit what is left of the budget; otherwise the single choice is saved and the record says why.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from transferkit.data.dataset import LabeledData
from transferkit.models.classic import ClassicBaseline
from transferkit.models.feature_model import fit_concat
from transferkit.strategies.choice import EMBEDDING_C, MIN_PAIRED_FOLDS, NOISE_STANDARD_ERRORS, paired_margin
from transferkit.strategies.probe import uniform_scaling

MEMBERS = ("probe", "classic", "concat")  # the frozen / classic candidates, seconds each on cached embeddings
MAX_MEMBERS = 3
WEIGHT_STEP = 0.25
Folds = list[tuple[list[int], list[int]]]


def weight_grid(members: int, step: float = WEIGHT_STEP) -> list[tuple[float, ...]]:
    """Weights on the simplex in steps of `step` (a member may get none: the folds may prefer one model alone).

    Example:
        >>> weight_grid(2, 0.25)
        [(0.0, 1.0), (0.25, 0.75), (0.5, 0.5), (0.75, 0.25), (1.0, 0.0)]
    """
    ticks = round(1 / step)
    return [
        tuple(count * step for count in counts)
        for counts in itertools.product(range(ticks + 1), repeat=members)
        if sum(counts) == ticks
    ]


def fold_probabilities(
    name: str,
    data: LabeledData,
    embeddings: np.ndarray,
    train: list[int],
    test: list[int],
    *,
    classes: list[str],
    seed: int = 0,
) -> np.ndarray:
    """Class probabilities (columns in `classes` order) of candidate `name` fitted on `train` rows, for `test` rows,
    fitted as auto's cheap scorers fit it."""
    labels = np.array(data.labels or [])
    if name == "probe":  # scaled as the probe scales (one common scale with fewer rows than dimensions)
        scaler = StandardScaler().fit(embeddings[train])
        c = EMBEDDING_C
        if uniform_scaling(len(train), embeddings.shape[1]):
            scaler.scale_ = np.full_like(scaler.scale_, float(scaler.scale_.mean()))
            c = float(scaler.scale_[0]) ** 2
        model = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(embeddings[train]), labels[train])
        proba, order = model.predict_proba(scaler.transform(embeddings[test])), list(model.classes_)
    elif name == "classic":
        baseline = ClassicBaseline(modality=data.modality, seed=seed).fit(
            [data.inputs[i] for i in train], list(labels[train])
        )
        proba, order = baseline.predict_proba([data.inputs[i] for i in test]), list(baseline.classes_)
    else:
        train_inputs, test_inputs = [data.inputs[i] for i in train], [data.inputs[i] for i in test]
        parts, model = fit_concat(train_inputs, embeddings[train], list(labels[train]), modality=data.modality)
        proba, order = model.predict_proba(parts.matrix(test_inputs, embeddings[test])), list(model.classes_)
    out = np.zeros((len(test), len(classes)))
    for column, label in enumerate(order):
        out[:, classes.index(label)] = proba[:, column]
    return out


def ensemble_record(
    scores: dict[str, dict[str, Any]],
    *,
    chosen: str,
    data: LabeledData,
    embeddings: np.ndarray,
    folds: Folds,
    affordable: Callable[[float], bool],
    seed: int = 0,
    min_margin: float = 0.0,
    prior: Any = None,
) -> dict[str, Any] | None:
    """The out-of-fold ensemble of the best 2-3 cheap candidates against the saved choice, or None when fewer than
    two members were scored. `affordable(seconds)` says whether that much of the budget can still be spent;
    `min_margin` is the least mean gain that wins besides the noise rule (the tiny bucket's). A choice no fold scored
    (the prior's fine-tune) is judged as the tiny override judges it: against the prior's best scored candidate, by
    the pick's recorded lead over it on top (`versus_unscored`)."""
    members = sorted((n for n in MEMBERS if n in scores), key=lambda n: -scores[n]["mean"])[:MAX_MEMBERS]
    if len(members) < 2:
        return None
    one_round = sum(scores[n]["seconds"] / len(scores[n]["folds"]) * len(folds) for n in members)
    record: dict[str, Any] = {"members": members, "offered": True}
    if not affordable(one_round):
        why = f"one more round of its members' folds (~{one_round:.0f} s) did not fit what was left of the budget"
        return record | {"scored": False, "why": why}
    classes = sorted(set(data.labels or []))
    labels = np.array([classes.index(label) for label in data.labels or []])
    oof = {name: np.zeros((len(labels), len(classes))) for name in members}
    for train, test in folds:
        for name in members:
            oof[name][test] = fold_probabilities(name, data, embeddings, train, test, classes=classes, seed=seed)
    grid = weight_grid(len(members))

    def accuracy(weights: tuple[float, ...], rows: np.ndarray) -> float:
        mixed = sum(w * oof[name][rows] for w, name in zip(weights, members, strict=True))
        return float((mixed.argmax(1) == labels[rows]).mean())

    fold_scores, fold_weights = [], []
    for _, test in folds:  # weights chosen on the other folds' out-of-fold rows, scored on this fold's
        others = np.setdiff1d(np.arange(len(labels)), test)
        best = max(grid, key=lambda weights: accuracy(weights, others))
        fold_weights.append(best)
        fold_scores.append(accuracy(best, np.array(test)))
    overall = max(grid, key=lambda weights: accuracy(weights, np.arange(len(labels))))  # what a saved one would use
    record |= {"weights": dict(zip(members, map(float, overall), strict=True))}
    versus, lead = versus_unscored(scores, chosen, prior)
    record |= {"versus_unscored": {"pick": chosen, "reference": versus, "recorded_lead": lead}} if versus else {}
    margin = {"min_margin": min_margin, "lead": lead}
    return record | judged(fold_scores, fold_weights, scores, chosen=versus or chosen, members=members, **margin)


def versus_unscored(scores: dict[str, dict[str, Any]], chosen: str, prior: Any) -> tuple[str | None, float]:
    """For a choice no fold scored: the prior's best scored candidate and the pick's recorded lead over it (its gain
    over the probe minus the reference's, never below 0); (None, 0.0) when the choice was scored or nothing ranks.

    Example:
        >>> from types import SimpleNamespace
        >>> prior = SimpleNamespace(ranking=["two-stage", "probe", "concat"],
        ...                         evidence={"two-stage": {"gain_over_probe": 0.014}, "probe": {"gain_over_probe": 0}})
        >>> versus_unscored({"probe": {}, "concat": {}}, "two-stage", prior)
        ('probe', 0.014)
    """
    if chosen in scores or prior is None:
        return None, 0.0
    reference = next((name for name in prior.ranking if name in scores), None)
    evidence = getattr(prior, "evidence", None) or {}
    if reference is None or chosen not in evidence or reference not in evidence:
        return reference, 0.0
    lead = float(evidence[chosen]["gain_over_probe"]) - float(evidence[reference]["gain_over_probe"])
    return reference, round(max(0.0, lead), 4)


def judged(
    fold_scores: list[float],
    fold_weights: list[tuple[float, ...]],
    scores: dict[str, dict[str, Any]],
    *,
    chosen: str,
    members: list[str],
    min_margin: float = 0.0,
    lead: float = 0.0,
) -> dict[str, Any]:
    """The ensemble's out-of-fold score, paired with the saved choice's first-round folds, under the noise rule.

    Example:
        >>> record = judged([0.9, 0.8, 0.9], [(0.5, 0.5)] * 3, {"probe": {"folds": [0.7, 0.6, 0.7]}},
        ...                 chosen="probe", members=["probe", "classic"])
        >>> record["would_win"], record["paired"]["mean"]
        (True, 0.2)
    """
    record: dict[str, Any] = {
        "scored": True,
        "mean": round(float(np.mean(fold_scores)), 4),
        "folds": [round(score, 4) for score in fold_scores],
        "weights_per_fold": [dict(zip(members, map(float, w), strict=True)) for w in fold_weights],
    }
    if chosen not in scores:
        return record | {"versus": chosen, "paired": None, "would_win": False, "why": f"{chosen} had no folds"}
    paired = paired_margin(fold_scores, scores[chosen]["folds"][: len(fold_scores)])
    noise = NOISE_STANDARD_ERRORS * paired["standard_error"]
    wins = paired["folds"] >= MIN_PAIRED_FOLDS and paired["mean"] > max(noise, min_margin) + lead
    why = (
        f"the ensemble {'beat' if wins else 'did not beat'} {chosen} beyond its noise: {paired['mean']:+.3f} "
        f"against {noise:.3f} (2 paired standard errors over {paired['folds']} folds)"
    )
    if min_margin:
        why += f" and the tiny size's {min_margin:.2f}"
    if lead:
        why += f", plus the unscored pick's recorded lead of {lead:.3f} over {chosen}"
    return record | {"versus": chosen, "paired": paired, "would_win": wins, "why": why}


def saved_weights(record: dict[str, Any] | None) -> tuple[dict[str, float], str | None]:
    """The members a saved ensemble keeps (a weight above 0 on all the folds' rows) with their weights, or ({}, why
    none is saved).

    Example:
        >>> saved_weights({"would_win": True, "weights": {"concat": 0.75, "classic": 0.25, "probe": 0.0}})
        ({'concat': 0.75, 'classic': 0.25}, None)
        >>> saved_weights({"would_win": True, "weights": {"concat": 1.0, "probe": 0.0}})[1]
        'the weights chosen on all the folds give concat all the weight: no ensemble to save'
    """
    if not record or not record.get("would_win"):
        return {}, (record or {}).get("why") or "no ensemble was scored"
    kept = {name: weight for name, weight in record["weights"].items() if weight > 0}
    if len(kept) < 2:
        return {}, f"the weights chosen on all the folds give {next(iter(kept))} all the weight: no ensemble to save"
    return kept, None
