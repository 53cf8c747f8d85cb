"""Active-learning selection: what each strategy picks, on data where the right pick is known."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from transferkit.errors import ConfigError
from transferkit.labelling.active import STRATEGIES, kcenter_greedy, probe, reduce, select


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
