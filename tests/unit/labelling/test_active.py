"""Active-learning selection: what each strategy picks, on data where the right pick is known."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from transferkit.errors import ConfigError
from transferkit.labelling.active import (
    STRATEGIES,
    SWITCH_LABELS_PER_CLASS,
    balanced_margin,
    cluster_margin,
    kcenter_greedy,
    probe,
    reduce,
    schedule_phase,
    select,
)


def clusters(count: int = 5, per: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(count, 16)) * 10
    rows = np.concatenate([centre + rng.normal(size=(per, 16)) for centre in centres])
    return rows, np.repeat(np.arange(count), per)


def test_cold_kcenter_covers_every_cluster_first():
    rows, groups = clusters()
    picked = kcenter_greedy(rows, np.array([], dtype=int), 5, seed=3)
    assert sorted(groups[picked]) == [0, 1, 2, 3, 4]


def test_kcenter_avoids_the_clusters_already_labelled():
    rows, groups = clusters()
    labelled = np.flatnonzero(groups < 3)[::10]
    picked = select("kcenter", n=2, embeddings=rows, labelled=labelled, seed=0)
    assert sorted(groups[picked]) == [3, 4]


def test_uncertainty_picks_the_undecided_rows_and_never_a_labelled_one():
    proba = np.array([[0.99, 0.01], [0.5, 0.5], [0.9, 0.1], [0.55, 0.45], [0.51, 0.49]])
    rows = np.eye(5)
    for strategy in ("entropy", "margin"):
        picked = select(strategy, n=2, embeddings=rows, labelled=np.array([1]), proba=proba)
        assert list(picked) == [4, 3]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_returns_distinct_unlabelled_rows(strategy):
    rows, _groups = clusters(per=20)
    labelled = np.arange(0, 100, 7)
    proba = np.full((len(rows), 5), 0.2)
    picked = select(strategy, n=10, embeddings=rows, labelled=labelled, proba=proba, seed=1)
    assert len(picked) == len(set(picked)) == 10
    assert not set(picked) & set(labelled)


def test_uncertainty_without_a_model_is_a_config_error():
    with pytest.raises(ConfigError, match="kcenter"):
        select("badge", n=3, embeddings=np.eye(4), labelled=np.array([], dtype=int))


def test_badge_beats_random_sampling_on_real_digits():
    """scikit-learn's 1,797 handwritten digits (8x8 pixels): 3 seeds, 20 random labels then 4 rounds of 10."""
    digits = load_digits()
    features, labels = digits.data.astype(np.float32), digits.target
    test = np.arange(0, len(labels), 3)
    pool = np.setdiff1d(np.arange(len(labels)), test)
    reduced = reduce(features[pool])
    scores = {"random": [], "badge": []}
    for seed in range(3):
        for strategy in scores:
            chosen = np.random.default_rng(seed).choice(len(pool), 20, replace=False)
            for _round in range(4):
                model = probe(features[pool][chosen], labels[pool][chosen], C=1.0)
                proba = np.zeros((len(pool), 10))
                proba[:, model.classes_] = model.predict_proba(features[pool])
                more = select(
                    strategy, n=10, embeddings=features[pool], labelled=chosen, proba=proba, seed=seed, reduced=reduced
                )
                chosen = np.concatenate([chosen, more])
            model = probe(features[pool][chosen], labels[pool][chosen], C=1.0)
            scores[strategy].append((model.predict(features[test]) == labels[test]).mean())
    assert np.mean(scores["badge"]) > np.mean(scores["random"])


def test_cold_typiclust_takes_one_typical_row_from_every_cluster():
    rows, groups = clusters()
    picked = select("typiclust", n=5, embeddings=rows, labelled=np.array([], dtype=int), seed=2)
    assert sorted(groups[picked]) == [0, 1, 2, 3, 4]
    centres = np.stack([rows[groups == g].mean(axis=0) for g in range(5)])
    spread = np.linalg.norm(rows - centres[groups], axis=1)
    assert np.median(spread[picked]) < np.median(spread)  # typical rows sit near their cluster's centre


def test_the_schedule_switches_to_margin_once_every_class_has_enough_labels():
    enough = SWITCH_LABELS_PER_CLASS
    assert schedule_phase(None) == "typiclust"  # a cold start: no classes known yet
    assert schedule_phase(np.array([enough, enough - 1, enough])) == "typiclust"
    assert schedule_phase(np.array([enough, enough, enough + 3])) == "margin"
    rows, groups = clusters()
    labelled = np.arange(0, 200, 17)
    proba = np.eye(5)[groups] * 0.6 + 0.08  # every row leans to its own cluster's class
    proba[::3] = 0.19 + np.eye(5)[groups[::3]] * 0.05  # every third row undecided (margin 0.05)
    for counts, twin in (([enough] * 4 + [enough - 1], "typiclust"), ([enough] * 5, "cluster-margin")):
        picked = select(
            "schedule", n=5, embeddings=rows, labelled=labelled, proba=proba, seed=4, class_counts=counts, reduced=rows
        )
        candidates = np.setdiff1d(np.arange(len(rows)), labelled)
        expected = (
            cluster_margin(rows, proba, candidates, 5, seed=4)
            if twin == "cluster-margin"
            else select(twin, n=5, embeddings=rows, labelled=labelled, seed=4, reduced=rows)
        )
        assert list(picked) == list(expected)
        assert len(set(picked)) == 5 and not set(picked) & set(labelled)
    assert all(i % 3 == 0 for i in picked)  # the undecided rows (lowest margin), one per cluster, not five of one
    assert sorted(groups[picked]) == [0, 1, 2, 3, 4]


def test_balanced_margin_caps_the_picks_per_predicted_class():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=300)
    proba[:150, 0] += 0.5  # half the pool leans to class 0, with small margins among the rest of them
    proba /= proba.sum(axis=1, keepdims=True)
    candidates = np.arange(10, 300)
    picked = balanced_margin(proba, candidates, 12)
    assert len(picked) == len(set(picked)) == 12 and set(picked) <= set(candidates)
    assert np.bincount(proba[picked].argmax(axis=1), minlength=4).max() <= 3  # 12 picks / 4 classes
    only_two = proba[:, :2] / proba[:, :2].sum(axis=1, keepdims=True)  # two classes, cap 1: the rest fill in
    assert len(set(balanced_margin(only_two, candidates, 6, cap=1))) == 6


def test_suggest_counts_each_labelled_input_once_across_the_run_and_the_pool():
    from transferkit.labelling.pool import Pool
    from transferkit.labelling.suggest_run import class_counts

    pool = Pool("text", ["a  b", "c", "d", "e"], ["x", None, "y", None], "pool.csv", [0, 1, 2, 3])
    counts = class_counts(pool, {"a b": "x", "f": "y", "g": "x"}, ["x", "y", "z"])
    assert counts.tolist() == [2, 2, 0]  # "a b" is in both: once
