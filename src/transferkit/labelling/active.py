"""Active-learning selection over cached embeddings: which unlabelled rows to label next.

Uncertainty (entropy, margin) reads a probe's probabilities; diversity (k-center greedy, and TypiClust's typical
rows of uncovered clusters) reads only the embeddings, so it also serves a cold start with no labels; BADGE (Ash
et al., 2020) mixes both: k-means++ seeding over the probe's gradient embeddings, whose length is the uncertainty
and whose direction is the content. The schedule follows the low-budget / high-budget phase transition (Hacohen
et al., 2022): TypiClust while some class has fewer than SWITCH_LABELS_PER_CLASS labels (the labelled counts
decide, never a test set), then cluster-margin (after Citovsky et al., 2021): the CANDIDATE_FACTOR x n
lowest-margin rows, capped per predicted class so they do not pile onto one confused pair of classes, grouped
by k-means into n clusters, and the lowest-margin row of each.
small-text was tried and is not a dependency: its strategies query its own classifier wrappers, and its
`greedy_coreset` treats positions in the unlabelled pool as rows of the matrix (equal only when the pool is the
first rows): these few lines over numpy and scikit-learn are the whole of each method.

Example::

    picked = select("kcenter", n=50, embeddings=features, labelled=np.array([], dtype=int), seed=0)
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import kmeans_plusplus
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from transferkit.errors import ConfigError

UNCERTAINTY = ("entropy", "margin", "badge")  # these need a model's probabilities
DIVERSITY = ("kcenter", "typiclust", "random")
STRATEGIES = ("random", "entropy", "margin", "kcenter", "typiclust", "badge", "schedule")
SWITCH_LABELS_PER_CLASS = 5  # schedule: TypiClust until every class has this many labels, then cluster-margin
CANDIDATE_FACTOR = 10  # cluster-margin clusters the 10 x n most uncertain rows
TYPICALITY_NEIGHBOURS = 20
BADGE_DIMENSIONS = 64  # embeddings are reduced before the gradient outer product (classes x dims columns)


def probe(features: np.ndarray, labels: np.ndarray, *, seed: int = 0, C: float = 0.05):
    """The logistic-regression probe every step uses: unit-length, standardised embeddings -> softmax."""
    model = make_pipeline(Normalizer(), StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=seed))
    return model.fit(features, labels)


def entropy(proba: np.ndarray) -> np.ndarray:
    clipped = np.clip(proba, 1e-12, 1.0)
    return -(clipped * np.log(clipped)).sum(axis=1)


def margin(proba: np.ndarray) -> np.ndarray:
    """Top probability minus the runner-up's: small means the model cannot decide."""
    ordered = np.sort(proba, axis=1)
    return ordered[:, -1] - ordered[:, -2]


def kcenter_greedy(embeddings: np.ndarray, labelled: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """Farthest-first traversal (Sener & Savarese, 2018) in cosine geometry: each pick is the row farthest from
    every labelled or picked row. With no labels the first pick is random."""
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    nearest = np.full(len(unit), np.inf)
    for start in range(0, len(labelled), 512):  # chunks bound the (rows x centres) distance block
        centres = unit[labelled[start : start + 512]]
        nearest = np.minimum(nearest, (2.0 - 2.0 * unit @ centres.T).min(axis=1))
    picked: list[int] = []
    if not len(labelled):
        picked.append(int(np.random.default_rng(seed).integers(len(unit))))
        nearest = np.minimum(nearest, 2.0 - 2.0 * unit @ unit[picked[0]])
    while len(picked) < n:
        choice = int(np.argmax(nearest))
        picked.append(choice)
        nearest = np.minimum(nearest, 2.0 - 2.0 * unit @ unit[choice])
    return np.array(picked, dtype=int)


def typiclust(reduced: np.ndarray, labelled: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """TypiClust (Hacohen et al., 2022), for low budgets: k-means into labelled + n clusters, then from each of the
    largest clusters with no labelled row its most typical row (the densest: nearest to its neighbours)."""
    from sklearn.cluster import KMeans

    clusters = KMeans(n_clusters=min(len(labelled) + n, len(reduced)), n_init=1, random_state=seed).fit_predict(reduced)
    covered = set(clusters[labelled].tolist())
    sizes = np.bincount(clusters)
    order = [int(c) for c in np.argsort(-sizes, kind="stable") if int(c) not in covered][:n]
    picked = []
    for cluster in order:
        members = np.flatnonzero(clusters == cluster)
        gaps = np.linalg.norm(reduced[members][:, None, :] - reduced[members][None, :, :], axis=2)
        nearest = np.sort(gaps, axis=1)[:, 1 : TYPICALITY_NEIGHBOURS + 1]
        typicality = 1.0 / (nearest.mean(axis=1) + 1e-12) if nearest.size else np.ones(len(members))
        picked.append(int(members[np.argmax(typicality)]))
    if len(picked) < n:  # fewer uncovered clusters than rows wanted: the rest by k-center greedy
        more = kcenter_greedy(reduced, np.concatenate([labelled, picked]).astype(int), n - len(picked), seed=seed)
        picked += [int(row) for row in more]
    return np.array(picked, dtype=int)


def badge(reduced: np.ndarray, proba: np.ndarray, candidates: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """k-means++ seeding over gradient embeddings (p - onehot(argmax p)) outer x of the candidates."""
    gradient = proba[candidates].copy()
    gradient[np.arange(len(candidates)), gradient.argmax(axis=1)] -= 1.0
    outer = (gradient[:, :, None] * reduced[candidates][:, None, :]).reshape(len(candidates), -1)
    _centres, chosen = kmeans_plusplus(outer, n_clusters=n, random_state=seed)
    return candidates[chosen]


def schedule_phase(class_counts: np.ndarray | None, *, per_class: int = SWITCH_LABELS_PER_CLASS) -> str:
    """The schedule's method now: "typiclust" while any class has fewer than `per_class` labels (or the classes
    are not known yet: a cold start), then "margin" (cluster-margin)."""
    counts = np.asarray(class_counts if class_counts is not None else [], dtype=int)
    return "margin" if len(counts) > 1 and counts.min() >= per_class else "typiclust"


def balanced_margin(proba: np.ndarray, candidates: np.ndarray, n: int, *, cap: int | None = None) -> np.ndarray:
    """The `n` lowest-margin candidates with at most `cap` (default n / classes, rounded up) per predicted class;
    when the caps leave picks short, the next lowest-margin candidates fill them."""
    cap = cap or int(np.ceil(n / proba.shape[1]))
    order = candidates[np.argsort(margin(proba[candidates]), kind="stable")]
    taken = np.zeros(proba.shape[1], dtype=int)
    picked: list[int] = []
    for row, guess in zip(order.tolist(), proba[order].argmax(axis=1).tolist(), strict=True):
        if taken[guess] < cap:
            picked.append(row)
            taken[guess] += 1
            if len(picked) == n:
                return np.array(picked, dtype=int)
    rest = order[~np.isin(order, picked)][: n - len(picked)]  # still in margin order
    return np.array(picked + rest.tolist(), dtype=int)


def cluster_margin(reduced: np.ndarray, proba: np.ndarray, candidates: np.ndarray, n: int, *, seed: int = 0):
    """The lowest-margin row of each of n k-means clusters of the class-balanced CANDIDATE_FACTOR x n
    lowest-margin candidates: uncertain, yet not n near-copies of one confusion."""
    from sklearn.cluster import KMeans

    uncertain = balanced_margin(proba, candidates, min(CANDIDATE_FACTOR * n, len(candidates)))  # margin order
    if len(uncertain) <= n:
        return uncertain
    clusters = KMeans(n_clusters=n, n_init=1, random_state=seed).fit_predict(reduced[uncertain])
    first = np.sort([int(np.flatnonzero(clusters == cluster)[0]) for cluster in np.unique(clusters)])
    rest = np.setdiff1d(np.arange(len(uncertain)), first)[: n - len(first)]  # k-means found fewer clusters
    return uncertain[np.sort(np.concatenate([first, rest]).astype(int))]


def reduce(embeddings: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Standardised principal components (at most BADGE_DIMENSIONS), so BADGE's outer product stays small."""
    dims = min(BADGE_DIMENSIONS, embeddings.shape[1], len(embeddings))
    return StandardScaler().fit_transform(PCA(n_components=dims, random_state=seed).fit_transform(embeddings))


# Long: one branch per strategy, each a few lines, so the dispatch and its checks read in one place.
def select(
    strategy: str,
    *,
    n: int,
    embeddings: np.ndarray,
    labelled: np.ndarray,
    proba: np.ndarray | None = None,
    seed: int = 0,
    reduced: np.ndarray | None = None,
    class_counts: np.ndarray | None = None,
) -> np.ndarray:
    """Up to `n` unlabelled rows of `embeddings` (rows not in `labelled`) to label next, best first.

    `proba` (the current model's probabilities for every row) is needed by entropy, margin and badge, and by the
    schedule once it switches; `class_counts` (labels per class so far, in `proba`'s column order) decides that
    switch; `reduced` (from `reduce`) saves TypiClust and BADGE recomputing the projection on every call.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"Unknown --strategy '{strategy}'; choose one of {', '.join(STRATEGIES)}.")
    if strategy in UNCERTAINTY and proba is None:
        raise ConfigError(
            f"--strategy {strategy} needs a trained model's probabilities; pass a run folder, or use kcenter "
            "(diversity only) for a cold start."
        )
    labelled = np.asarray(labelled, dtype=int)
    candidates = np.setdiff1d(np.arange(len(embeddings)), labelled)
    n = min(n, len(candidates))
    if n <= 0:
        return np.array([], dtype=int)
    rng = np.random.default_rng(seed)
    if strategy == "random":
        return rng.choice(candidates, size=n, replace=False)
    if strategy == "entropy":
        return candidates[np.argsort(-entropy(proba[candidates]), kind="stable")[:n]]
    if strategy == "margin":
        return candidates[np.argsort(margin(proba[candidates]), kind="stable")[:n]]
    if strategy == "kcenter":
        return kcenter_greedy(embeddings, labelled, n, seed=seed)
    reduced = reduced if reduced is not None else reduce(embeddings, seed=seed)
    if strategy == "schedule" and proba is not None and schedule_phase(class_counts) == "margin":
        return cluster_margin(reduced, proba, candidates, n, seed=seed)
    if strategy in ("typiclust", "schedule"):
        return typiclust(reduced, labelled, n, seed=seed)
    return badge(reduced, proba, candidates, n, seed=seed)
