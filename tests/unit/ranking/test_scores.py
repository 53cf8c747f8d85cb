"""Transferability scores on real embeddings: informative beats random, published properties, worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from transferkit.errors import ConfigError, DataError
from transferkit.ranking.scores import (
    gbc,
    h_score,
    knn_accuracy,
    leep,
    linear_probe_accuracy,
    logme,
    logme_fit,
    nce,
    nleep,
)

FEATURE_SCORES = [logme, h_score, gbc, knn_accuracy, linear_probe_accuracy]
# N-LEEP reads the features' cluster structure: on digits the clusters are the classes, but MiniLM's clusters of
# reviews follow topic (dog food, coffee), not sentiment, so on the 100-review fixture it is at chance level.
CLUSTER_SCORES = [*FEATURE_SCORES, nleep]


def random_like(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """Gaussian features of the same shape, mean and spread as the real ones, unrelated to the labels."""
    rng = np.random.default_rng(seed)
    return rng.normal(features.mean(), features.std(), size=features.shape).astype(np.float32)


@pytest.mark.parametrize("score", FEATURE_SCORES, ids=lambda f: f.__name__)
def test_minilm_review_features_beat_random_features(score, review_embeddings):
    features, labels = review_embeddings
    assert score(features, labels) > score(random_like(features), labels)


@pytest.mark.slow
@pytest.mark.parametrize("score", CLUSTER_SCORES, ids=lambda f: f.__name__)
def test_efficientnet_digit_features_beat_random_features(score, digit_embeddings):
    features, _, labels = digit_embeddings
    assert score(features, labels) > score(random_like(features), labels)


@pytest.mark.slow
@pytest.mark.parametrize("score", [leep, nce], ids=lambda f: f.__name__)
def test_imagenet_predictions_beat_shuffled_predictions(score, digit_embeddings):
    _, proba, labels = digit_embeddings
    shuffled = proba[np.random.default_rng(0).permutation(len(proba))]  # same rows, unrelated to the labels
    assert score(proba, labels) > score(shuffled, labels)


@pytest.mark.parametrize("scale", [1e-3, 0.5, 40.0, 1e3])
@pytest.mark.parametrize("score", [logme, gbc, nleep], ids=lambda f: f.__name__)
def test_score_is_invariant_to_rescaling_features(review_embeddings, score, scale):
    features, labels = review_embeddings
    assert score(features * scale, labels) == pytest.approx(score(features, labels), abs=1e-4)


def _gaussian_evidence(features: np.ndarray, target: np.ndarray, alpha: float, beta: float) -> float:
    """log N(y; 0, F F^T / alpha + I / beta) / n: the evidence of Bayesian linear regression, computed directly."""
    f = features.astype(np.float64)
    covariance = f @ f.T / alpha + np.eye(len(f)) / beta
    return multivariate_normal(mean=np.zeros(len(f)), cov=covariance).logpdf(target) / len(f)


def test_logme_evidence_is_the_maximised_marginal_likelihood(review_embeddings):
    features, labels = review_embeddings
    fit = logme_fit(features, labels)
    assert (fit.iterations < 100).all()  # the fixed point converged
    for index, name in enumerate(sorted(set(labels))):
        target = (labels == name).astype(np.float64)
        alpha, beta = fit.alpha[index], fit.beta[index]
        at_fixed_point = _gaussian_evidence(features, target, alpha, beta)
        assert fit.evidence[index] == pytest.approx(at_fixed_point, abs=1e-6)
        for da, db in [(2.0, 1.0), (0.5, 1.0), (1.0, 2.0), (1.0, 0.5)]:
            assert _gaussian_evidence(features, target, alpha * da, beta * db) < at_fixed_point


def test_leep_matches_a_hand_computed_example():
    theta = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = ["a", "b", "a"]
    joint = {y: [sum(theta[i, z] for i in range(3) if labels[i] == y) / 3 for z in range(2)] for y in "ab"}
    marginal = [joint["a"][z] + joint["b"][z] for z in range(2)]
    expected = np.mean(
        [np.log(sum(joint[labels[i]][z] / marginal[z] * theta[i, z] for z in range(2))) for i in range(3)]
    )
    assert leep(theta, labels) == pytest.approx(expected)
    assert leep(theta, labels) == pytest.approx(-0.50600, abs=1e-4)


def test_nce_is_minus_the_conditional_entropy():
    hard = np.eye(3)[[0, 0, 1, 1]]  # source labels z = 0, 0, 1, 1
    assert nce(hard, ["a", "b", "a", "a"]) == pytest.approx(-0.5 * np.log(2))  # H(Y|z=0) = ln 2, H(Y|z=1) = 0
    assert nce(hard, ["a", "a", "b", "b"]) == 0.0


def test_gbc_matches_the_bhattacharyya_coefficients_of_two_gaussians():
    """Spherical GBC is unchanged by PCA's rotation (the distance between means and each class's mean variance are
    rotation-invariant), so it must equal the closed form on the raw 2-D features; diagonal mode is not."""
    rng = np.random.default_rng(0)
    first = rng.normal(size=(400, 2))
    second = rng.normal(size=(400, 2)) * 2.0 + [3.0, 1.0]
    features, labels = np.vstack([first, second]), np.repeat([0, 1], 400)
    mu1, mu2 = first.mean(axis=0), second.mean(axis=0)
    v1, v2 = first.var(axis=0).mean(), second.var(axis=0).mean()  # spherical: one variance per class
    average = (v1 + v2) / 2
    distance = ((mu1 - mu2) ** 2).sum() / average / 8 + 0.5 * 2 * (np.log(average) - (np.log(v1) + np.log(v2)) / 2)
    assert gbc(features, labels) == pytest.approx(-2 * np.exp(-distance), rel=1e-6)  # both ordered pairs
    assert gbc(features, labels, gaussian="diagonal") < 0


def test_nleep_is_near_zero_when_the_mixture_finds_the_classes_and_low_when_not():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 40)
    centres = np.array([[0.0, 0.0, 0.0], [20.0, 0.0, 0.0], [0.0, 20.0, 0.0]])
    clustered = rng.normal(size=(120, 3)) + centres[labels]
    assert nleep(clustered, labels) > -0.05
    assert nleep(clustered, rng.permutation(labels)) < -0.8  # clusters unrelated to the labels (chance: ln 1/3)
    assert nleep(clustered, labels) == nleep(clustered, labels)  # seeded mixture: deterministic


def test_h_score_is_invariant_to_invertible_linear_maps(review_embeddings):
    features, labels = review_embeddings
    small = features[:, :20]  # fewer dimensions than examples, so the covariance is invertible
    mixing = np.random.default_rng(1).normal(size=(20, 20))
    plain = h_score(small, labels, shrinkage=False, debias=False)
    assert h_score(small @ mixing, labels, shrinkage=False, debias=False) == pytest.approx(plain, rel=1e-6)
    assert h_score(small * 7.0, labels) == pytest.approx(h_score(small, labels), rel=1e-6)  # shrunk: global scale


@pytest.mark.slow
def test_debiased_h_score_puts_noise_at_chance(digit_embeddings):
    features, _, labels = digit_embeddings
    noise = random_like(features)
    assert h_score(noise, labels, debias=False) > 5 * h_score(features, labels, debias=False)  # the raw bias, n < d
    assert abs(h_score(noise, labels)) < 0.1 * h_score(noise, labels, debias=False)  # noise near chance
    assert h_score(features, labels) > h_score(noise, labels)


def test_scores_reject_unusable_inputs():
    with pytest.raises(DataError, match="two classes"):
        logme(np.ones((4, 2)), ["a"] * 4)
    with pytest.raises(DataError, match="one row per label"):
        h_score(np.ones((3, 2)), ["a", "b"])
    with pytest.raises(DataError, match="softmax"):
        leep(np.array([[2.0, 1.0], [0.0, 3.0]]), ["a", "b"])
    with pytest.raises(ConfigError, match="gaussian option"):
        gbc(np.random.rand(6, 3), [0, 0, 0, 1, 1, 1], gaussian="full")
    with pytest.raises(ConfigError, match="variance option"):
        nleep(np.random.rand(6, 3), [0, 0, 0, 1, 1, 1], variance=80)
    with pytest.raises(DataError, match="2 examples of every class"):
        knn_accuracy(np.random.rand(5, 3), ["a", "a", "a", "a", "b"])
