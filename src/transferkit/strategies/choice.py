"""Cross-validated choice among the probe, the classic baseline and both feature sets concatenated.

Transfer is not always a win: when labels follow surface cues (a hashtag, a URL, a style marker),
TF-IDF beats a frozen sentence encoder. `choose_by_cv` scores three candidates with the same
stratified folds of the training split and says which one wins and by how much:

- probe: scaled backbone embeddings + logistic regression, scaled and regularised as `--strategy probe` is;
- classic: TF-IDF (text) or pixels (images) + logistic regression (`ClassicBaseline`);
- concat: the standardised embeddings next to the classic features, + logistic regression.

`--strategy auto` (transferkit.strategies.auto) scores the same folds, adds two-stage fine-tuning when the
time budget allows, and saves the winner; `--select` with an explicit strategy only reports the choice.

Example::

    choice = choose_by_cv(train, embeddings, seed=0)
    choice["chosen"], choice["margin"]  # ('probe', 0.04)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from transferkit.data.dataset import LabeledData
from transferkit.models.classic import ClassicBaseline, stratified_folds
from transferkit.models.feature_model import fit_concat
from transferkit.strategies.probe import probe_c, uniform_scaling

CANDIDATES = ("probe", "classic", "concat")


def _probe_matrix(embeddings: np.ndarray, train: list[int], test: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The fold's rows scaled as the probe scales them (one common scale when rows are fewer than dimensions)."""
    scaler = StandardScaler().fit(embeddings[train])
    if uniform_scaling(len(train), embeddings.shape[1]):
        scaler.scale_ = np.full_like(scaler.scale_, float(scaler.scale_.mean()))
    return scaler.transform(embeddings[train]), scaler.transform(embeddings[test])


Scorer = Callable[[list[int], list[int]], float]


def folds_of(data: LabeledData, *, seed: int) -> list[tuple[list[int], list[int]]]:
    """The stratified (train rows, test rows) folds every candidate is scored on."""
    labels = np.array(data.labels or [])
    return [(list(a), list(b)) for a, b in stratified_folds(list(labels), seed).split(np.zeros(len(labels)), labels)]


def cheap_scorers(data: LabeledData, embeddings: np.ndarray, *, seed: int) -> dict[str, Scorer]:
    """Accuracy on a fold for the candidates that train in seconds on cached embeddings: probe, classic, concat."""
    labels = np.array(data.labels or [])

    def probe(train: list[int], test: list[int]) -> float:
        x_train, x_test = _probe_matrix(embeddings, train, test)
        c = probe_c(x_train, labels[train], seed=seed)  # the probe's own L2 choice, inside the fold
        model = LogisticRegression(C=c, max_iter=2000).fit(x_train, labels[train])
        return float((model.predict(x_test) == labels[test]).mean())

    def classic(train: list[int], test: list[int]) -> float:
        model = ClassicBaseline(modality=data.modality, seed=seed).fit(
            [data.inputs[i] for i in train], list(labels[train])
        )
        proba = model.predict_proba([data.inputs[i] for i in test])
        return float((np.array(model.classes_)[proba.argmax(1)] == labels[test]).mean())

    def concat(train: list[int], test: list[int]) -> float:
        train_inputs, test_inputs = [data.inputs[i] for i in train], [data.inputs[i] for i in test]
        parts, model = fit_concat(train_inputs, embeddings[train], list(labels[train]), modality=data.modality)
        return float((model.predict(parts.matrix(test_inputs, embeddings[test])) == labels[test]).mean())

    return {"probe": probe, "classic": classic, "concat": concat}


def score_candidates(scorers: dict[str, Scorer], folds: list[tuple[list[int], list[int]]]) -> dict[str, dict[str, Any]]:
    """Mean, std, per-fold accuracy and seconds of each candidate over the same folds."""
    scores = {}
    for name, scorer in scorers.items():
        started = time.perf_counter()
        values = [scorer(train, test) for train, test in folds]
        scores[name] = {
            "mean": float(np.mean(values)),
            "std": float(np.std(values)),
            "folds": values,
            "seconds": round(time.perf_counter() - started, 2),
        }
    return scores


def decide(scores: dict[str, dict[str, Any]], *, folds: int, skipped: dict[str, str] | None = None) -> dict[str, Any]:
    """The winner (ties go to the earlier candidate in `scores`' order) and its margin over the runner-up."""
    ranked = sorted(scores, key=lambda name: -scores[name]["mean"])  # stable: ties keep the candidate order
    runner_up = scores[ranked[1]]["mean"] if len(ranked) > 1 else scores[ranked[0]]["mean"]
    return {
        "chosen": ranked[0],
        "runner_up": ranked[1] if len(ranked) > 1 else None,
        "margin": scores[ranked[0]]["mean"] - runner_up,
        "folds": folds,
        "scores": scores,
        "skipped": dict(skipped or {}),
    }


def choose_by_cv(data: LabeledData, embeddings: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
    """Accuracy of each candidate over stratified folds of `data` (rows aligned with `embeddings`).

    Returns ``{"chosen", "runner_up", "margin" (best minus runner-up mean accuracy), "folds", "scores": {name:
    {"mean", "std", "folds", "seconds"}}, "skipped"}``; ties go to the earlier candidate in probe, classic,
    concat order. `transferkit.strategies.auto` adds two-stage fine-tuning when the time budget allows.
    """
    folds = folds_of(data, seed=seed)
    return decide(score_candidates(cheap_scorers(data, embeddings, seed=seed), folds), folds=len(folds))


def choose_for_run(*, spec: Any, train: LabeledData) -> dict[str, Any]:
    """`choose_by_cv` on a run's training split, with the run's pretrained backbone (embeddings from the cache)."""
    from transferkit.backbones import create_backbone
    from transferkit.embedding_cache import extract_features

    backbone = create_backbone(spec.backbone.spec, max_length=spec.backbone.max_length)  # pretrained, not fine-tuned
    embeddings, _ = extract_features(
        backbone,
        train.inputs,
        cache_dir=spec.backbone.cache_dir,
        batch_size=spec.backbone.batch_size,
        description="Embedding training data",
    )
    return choose_by_cv(train, embeddings, seed=spec.run.seed)
