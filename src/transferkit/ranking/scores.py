"""Transferability scores: how well a frozen backbone's embeddings suit a labelled target task.

Each score takes embeddings (or source-classifier probabilities) of the target data and the target
labels, and returns one number; higher means the backbone is expected to transfer better. Every
function follows its published algorithm, cited in its docstring.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1], 50)
    >>> features = rng.normal(size=(100, 8)) + labels[:, None]
    >>> logme(features, labels) > logme(rng.normal(size=(100, 8)), labels)
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from transferkit.errors import ConfigError, DataError

# Small dense problems: on a shared 2-core machine multi-threaded BLAS made LogME 16x and the linear
# probe 9x slower than one thread (1,797 x 764 features: 17.5 s vs 1.1 s), so scores run on one thread.
single_threaded = threadpool_limits.wrap(limits=1, user_api="blas")


def encode_labels(labels: np.ndarray | list) -> np.ndarray:
    """Map any labels (strings or ints) to 0..C-1 in sorted order; needs at least two classes."""
    values = np.asarray(labels)
    classes, codes = np.unique(values, return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"Transferability scores need at least two classes; the labels hold only {classes.tolist()}.")
    return codes.astype(np.int64)


def _check_rows(matrix: np.ndarray, codes: np.ndarray, what: str) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != len(codes):
        raise DataError(
            f"{what} must be a 2-D array with one row per label; got shape {matrix.shape} for {len(codes)} labels."
        )
    if not np.isfinite(matrix).all():
        raise DataError(f"{what} hold NaN or infinite values; check the backbone's output.")
    return matrix


@dataclass(frozen=True)
class LogMEFit:
    """LogME's result: the mean per-sample log evidence and, per class, the fitted alpha, beta and iterations."""

    score: float
    evidence: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    iterations: np.ndarray


@single_threaded
def logme_fit(features: np.ndarray, labels: np.ndarray | list, *, tol: float = 1e-3, max_iter: int = 100) -> LogMEFit:
    """LogME with its fitted hyper-parameters (see `logme`).

    All classes are solved together: one thin SVD of the features, then the fixed-point updates of
    alpha and beta run as array operations over the classes, each class stopping when its ratio
    alpha / beta changes by less than `tol` (relative), as in the published algorithm.
    """
    codes = encode_labels(labels)
    f = _check_rows(features, codes, "Features")
    n, d = f.shape
    targets = np.eye(codes.max() + 1)[codes]  # (n, C) one-hot: one Bayesian linear regression per class
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    sigma = s**2  # non-zero part of the eigenvalues of F^T F; the other d - k are zero
    k = len(sigma)
    projected = u.T @ targets  # (k, C): targets in the singular basis
    projected2 = projected**2
    residual_outside = (targets**2).sum(axis=0) - projected2.sum(axis=0)  # part of y orthogonal to span(F)
    num_classes = targets.shape[1]
    alpha, beta = np.ones(num_classes), np.ones(num_classes)
    iterations = np.zeros(num_classes, dtype=np.int64)
    active = np.ones(num_classes, dtype=bool)
    sig = sigma[:, None]
    for _ in range(max_iter):
        ratio = alpha / beta
        gamma = (sig / (sig + ratio)).sum(axis=0)
        m2 = (sig * projected2 / (sig + ratio) ** 2).sum(axis=0)  # ||m||^2
        res2 = (projected2 * (ratio / (sig + ratio)) ** 2).sum(axis=0) + residual_outside  # ||F m - y||^2
        new_alpha = gamma / (m2 + 1e-12)
        new_beta = (n - gamma) / (res2 + 1e-12)
        alpha = np.where(active, new_alpha, alpha)
        beta = np.where(active, new_beta, beta)
        iterations += active
        active &= np.abs(alpha / beta - ratio) / ratio > tol
        if not active.any():
            break
    ratio = alpha / beta
    m2 = (sig * projected2 / (sig + ratio) ** 2).sum(axis=0)
    res2 = (projected2 * (ratio / (sig + ratio)) ** 2).sum(axis=0) + residual_outside
    log_det = np.log(alpha[None, :] + beta[None, :] * sig).sum(axis=0) + (d - k) * np.log(alpha)  # log|A|
    evidence = (
        d / 2 * np.log(alpha)
        + n / 2 * np.log(beta)
        - beta / 2 * res2
        - alpha / 2 * m2
        - log_det / 2
        - n / 2 * np.log(2 * np.pi)
    ) / n
    return LogMEFit(float(evidence.mean()), evidence, alpha, beta, iterations)


def logme(features: np.ndarray, labels: np.ndarray | list, *, tol: float = 1e-3, max_iter: int = 100) -> float:
    """LogME: the log marginal likelihood (evidence) of a Bayesian linear model on the features, per sample.

    You, Liu, Wang and Long, "LogME: Practical Assessment of Pre-trained Models for Transfer Learning",
    ICML 2021 (Algorithm 1 and 2). For each class a linear regression from the features to the one-hot
    target is given a Gaussian prior N(0, 1/alpha) and Gaussian noise N(0, 1/beta); alpha and beta are
    found by MacKay's fixed-point iteration (gamma = sum(beta*sigma / (alpha + beta*sigma)),
    alpha = gamma / m^T m, beta = (n - gamma) / ||F m - y||^2), computed from one SVD of F. The
    score is the maximised evidence divided by n, averaged over classes. It is invariant to rescaling
    the features (the prior absorbs the scale).

    Args:
        features: (n, d) embeddings of the labelled target data.
        labels: n class labels (any hashable values).
        tol: Relative change of alpha / beta below which the iteration stops (published: 1e-3).
        max_iter: Cap on the fixed-point iterations (it typically converges in a few).

    Returns:
        The LogME score (higher is better; typically between -2 and 2).

    Example:
        >>> logme(np.eye(4)[[0, 1, 0, 1]] + 0.1, [0, 1, 0, 1]) > 0
        True
    """
    return logme_fit(features, labels, tol=tol, max_iter=max_iter).score


def _joint_target_source(codes: np.ndarray, source_proba: np.ndarray) -> np.ndarray:
    """Empirical joint distribution P(y, z) of target label y and source label z: (C, Z), sums to 1."""
    num_classes = codes.max() + 1
    onehot = np.eye(num_classes)[codes]
    return onehot.T @ source_proba / len(codes)


def _source_probabilities(source_proba: np.ndarray, codes: np.ndarray) -> np.ndarray:
    proba = _check_rows(source_proba, codes, "Source probabilities")
    if (proba < 0).any() or not np.allclose(proba.sum(axis=1), 1.0, atol=1e-3):
        raise DataError("Source probabilities must be non-negative rows summing to 1; apply a softmax to logits first.")
    return proba


@single_threaded
def leep(source_proba: np.ndarray, labels: np.ndarray | list) -> float:
    """LEEP: log expected empirical prediction of the source classifier re-mapped to the target labels.

    Nguyen, Hassner, Seeger and Archambeau, "LEEP: A New Measure to Evaluate Transferability of
    Learned Representations", ICML 2020. With theta(x) the source model's class probabilities, the
    empirical conditional P(y | z) = P(y, z) / P(z), P(y, z) = mean_i theta(x_i)_z [y_i = y], gives
    LEEP = mean_i log sum_z P(y_i | z) theta(x_i)_z. Needs a source classifier (e.g. ImageNet head).

    Args:
        source_proba: (n, Z) source-class probabilities of the target inputs (rows sum to 1).
        labels: n target labels.

    Returns:
        LEEP (<= 0; higher is better).

    Example:
        >>> round(leep(np.array([[1.0, 0.0], [0.0, 1.0]]), ["a", "b"]), 6)
        0.0
    """
    codes = encode_labels(labels)
    proba = _source_probabilities(source_proba, codes)
    joint = _joint_target_source(codes, proba)
    conditional = joint / np.maximum(joint.sum(axis=0, keepdims=True), 1e-300)  # P(y | z)
    expected = (proba @ conditional.T)[np.arange(len(codes)), codes]  # sum_z P(y_i | z) theta_z(x_i)
    return float(np.mean(np.log(np.maximum(expected, 1e-300))))


@single_threaded
def nce(source_proba: np.ndarray, labels: np.ndarray | list) -> float:
    """NCE: negative conditional entropy -H(Y | Z) of target labels given the source model's hard labels.

    Tran, Nguyen and Hassner, "Transferability and Hardness of Supervised Classification Tasks",
    ICCV 2019; applied to a pretrained source classifier with Z = argmax of its prediction, as in the
    LEEP paper's comparison. NCE = sum_{y,z} P(y, z) log P(y | z) over the empirical joint.

    Args:
        source_proba: (n, Z) source-class probabilities (or logits: only the argmax is used).
        labels: n target labels.

    Returns:
        NCE (<= 0; 0 when the source label determines the target label).

    Example:
        >>> nce(np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"])
        0.0
    """
    codes = encode_labels(labels)
    proba = _check_rows(source_proba, codes, "Source probabilities")
    hard = np.eye(proba.shape[1])[proba.argmax(axis=1)]
    joint = _joint_target_source(codes, hard)
    marginal = joint.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint / np.maximum(marginal, 1e-300)), 0.0)
    return float(terms.sum())


def _between_class_trace(f: np.ndarray, codes: np.ndarray, inverse_form) -> float:
    """tr(cov(f)^-1 cov(E[f | y])) = sum_c n_c m_c^T cov(f)^-1 m_c / (n - 1), m_c the class means (f centred)."""
    means = np.stack([f[codes == c].mean(axis=0) for c in range(codes.max() + 1)])
    counts = np.bincount(codes)
    return float((counts * inverse_form(means)).sum() / (len(f) - 1))


def _ledoit_wolf_inverse_form(f: np.ndarray):
    """v -> v^T S^-1 v for the Ledoit-Wolf covariance S = s mu I + (1 - s) F^T F / n of centred f.

    By the Woodbury identity through an n x n system, so d >> n costs O(n^2 d) instead of O(d^3).
    """
    n, d = f.shape
    shrinkage = ledoit_wolf_shrinkage(f, assume_centered=True)
    a = shrinkage * (f**2).sum() / (n * d)  # s * mu
    b = (1.0 - shrinkage) / n
    if a <= 0:  # degenerate (zero features): fall back to the pseudo-inverse
        return _pinv_form(f)
    inner = np.linalg.inv(a * np.eye(n) + b * f @ f.T)

    def form(vectors: np.ndarray) -> np.ndarray:
        projected = vectors @ f.T  # (k, n)
        return ((vectors**2).sum(axis=1) - b * np.einsum("kn,nm,km->k", projected, inner, projected)) / a

    return form


def _pinv_form(f: np.ndarray):
    inverse = np.linalg.pinv(f.T @ f / (len(f) - 1), rcond=1e-15, hermitian=True)
    return lambda vectors: np.einsum("kd,de,ke->k", vectors, inverse, vectors)


@single_threaded
def h_score(
    features: np.ndarray,
    labels: np.ndarray | list,
    *,
    shrinkage: bool = True,
    debias: bool = True,
    permutations: int = 5,
    seed: int = 0,
) -> float:
    """H-score: tr(cov(f)^-1 cov(E[f | y])), how much of the feature variance separates the classes.

    Bao, Li, Huang, Wang, Liu and Zheng, "An Information-Theoretic Approach to Transferability in Task
    Transfer Learning", ICIP 2019 (their reference code uses the pseudo-inverse, `shrinkage=False,
    debias=False`). With fewer examples than dimensions the raw covariance is singular and that score
    saturates at C - 1 for any features, so by default cov(f) is the Ledoit-Wolf shrunk covariance:
    the regularised H-score of Ibrahim, Ponomareva and Mazumder, "Newer is not always better:
    rethinking transferability metrics, their peculiarities, stability and performance", ECML PKDD 2022.

    With n < d even the shrunk score grows with d for pure noise (class means of noise add up over
    dimensions: 72 digits, 1,280 random dimensions scored 24.5 vs 2.3 for EfficientNet features).
    `debias=True` (our addition, not in either paper) subtracts the mean score of the same features
    under `permutations` shuffles of the labels, i.e. the chance level of those features, so that
    candidates of different widths compare fairly; noise then scores about 0.

    Args:
        features: (n, d) embeddings.
        labels: n labels.
        shrinkage: Ledoit-Wolf shrinkage of cov(f) instead of the pseudo-inverse of the raw covariance.
        debias: Subtract the score under shuffled labels.
        permutations: Shuffles averaged for the chance level.
        seed: Seed of the shuffles.

    Returns:
        The H-score (at most C - 1; higher is better; about 0 for uninformative features when debiased).

    Example:
        >>> f = np.array([[0.0, 1.0], [0.1, 1.2], [1.0, 0.1], [1.1, 0.0]])
        >>> h_score(f, [0, 0, 1, 1], shrinkage=False, debias=False) > 0.9
        True
    """
    codes = encode_labels(labels)
    f = _check_rows(features, codes, "Features")
    f = f - f.mean(axis=0, keepdims=True)
    form = _ledoit_wolf_inverse_form(f) if shrinkage else _pinv_form(f)
    score = _between_class_trace(f, codes, form)
    if debias:
        rng = np.random.default_rng(seed)
        chance = [_between_class_trace(f, rng.permutation(codes), form) for _ in range(permutations)]
        score -= float(np.mean(chance))
    return float(score)


def _pca(features: np.ndarray, components: int | float, seed: int) -> np.ndarray:
    """PCA projection with scikit-learn; an int above the rank is capped at the rank."""
    if isinstance(components, int):
        components = min(components, *features.shape)
    return PCA(n_components=components, svd_solver="full", random_state=seed).fit_transform(features)


@single_threaded
def gbc(features: np.ndarray, labels: np.ndarray | list, *, components: int = 64, gaussian: str = "spherical") -> float:
    """GBC: minus the summed Bhattacharyya coefficients between every pair of class-conditional Gaussians.

    Pandy, Agostinelli, Uijlings, Ferrari and Mensink, "Transferability Estimation using Bhattacharyya
    Class Separability", CVPR 2022. The features are reduced by PCA (the authors use 64 dimensions),
    each class is modelled as a Gaussian with a spherical (the authors' default) or diagonal
    covariance, and GBC = -sum_{c != k} exp(-D_B(c, k)) with the Bhattacharyya distance
    D_B = 1/8 (mu_c - mu_k)^T S^-1 (mu_c - mu_k) + 1/2 log(det S / sqrt(det S_c det S_k)), S the mean
    of the two covariances. 0 means every pair of classes is fully separated; it is invariant to
    rescaling the features.

    Args:
        features: (n, d) embeddings.
        labels: n labels.
        components: PCA dimensions kept (capped at min(n, d)).
        gaussian: "spherical" or "diagonal" class covariances.

    Returns:
        GBC (<= 0; higher is better).

    Example:
        >>> f = np.array([[0.0, 0.0], [0.1, 0.2], [5.0, 5.0], [5.2, 4.9]])
        >>> gbc(f, [0, 0, 1, 1]) > -0.01
        True
    """
    if gaussian not in ("spherical", "diagonal"):
        raise ConfigError(f"GBC's gaussian option must be 'spherical' or 'diagonal'; got {gaussian!r}.")
    codes = encode_labels(labels)
    f = _pca(_check_rows(features, codes, "Features"), components, seed=0)
    classes = range(codes.max() + 1)
    means = np.stack([f[codes == c].mean(axis=0) for c in classes])
    variances = np.stack([f[codes == c].var(axis=0) for c in classes])
    # The published floor for constant features, made relative so that rescaling cannot change the score.
    variances = np.maximum(variances, 1e-4 * max(float(f.var(axis=0).mean()), 1e-300))
    if gaussian == "spherical":
        variances = np.repeat(variances.mean(axis=1, keepdims=True), f.shape[1], axis=1)
    average = (variances[:, None, :] + variances[None, :, :]) / 2  # (C, C, d): S for every pair
    mahalanobis = (((means[:, None, :] - means[None, :, :]) ** 2) / average).sum(axis=2)
    log_variances = np.log(variances).sum(axis=1)
    log_ratio = np.log(average).sum(axis=2) - (log_variances[:, None] + log_variances[None, :]) / 2
    coefficients = np.exp(-(mahalanobis / 8 + log_ratio / 2))
    np.fill_diagonal(coefficients, 0.0)
    return float(-coefficients.sum())


@single_threaded
def nleep(
    features: np.ndarray,
    labels: np.ndarray | list,
    *,
    components_per_class: int = 5,
    variance: float = 0.8,
    seed: int = 0,
) -> float:
    """N-LEEP: LEEP with a Gaussian mixture fitted on the features in place of a source classifier.

    Li, Jia, Hou, Wang, Ouyang, Gan, Xie and Zhang, "Ranking Neural Checkpoints", CVPR 2021. The
    features are reduced by PCA to the components that explain `variance` of their variance (0.8 in
    the paper), a Gaussian mixture with `components_per_class` x C components (5 C in the paper;
    full covariances, scikit-learn's default) is fitted to them, and its posterior over components
    takes the place of the source classifier's probabilities in LEEP. Unlike LEEP it needs no source
    head, so it scores any backbone, text encoders included.

    Args:
        features: (n, d) embeddings.
        labels: n labels.
        components_per_class: Mixture components per target class (capped so each has at least two rows).
        variance: Share of the variance the PCA keeps.
        seed: Seed of the mixture's initialisation.

    Returns:
        N-LEEP (<= 0; higher is better).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat([0, 1], 30)
        >>> nleep(rng.normal(size=(60, 3)) + 4 * y[:, None], y) > nleep(rng.normal(size=(60, 3)), y)
        True
    """
    if not 0.0 < variance < 1.0:
        raise ConfigError(
            f"N-LEEP's variance option must be between 0 and 1 (the share the PCA keeps); got {variance}."
        )
    codes = encode_labels(labels)
    f = _check_rows(features, codes, "Features")
    reduced = _pca(f, variance, seed) if f.std(axis=0).max() > 0 else f[:, :1]
    # The mixture's covariance floor (reg_covar) is absolute: bring the features to unit spread so that it is
    # the same small fraction of the variance for every backbone, and the score invariant to rescaling.
    reduced = reduced / max(float(reduced.std()), 1e-300)
    count = max(2, min(components_per_class * (codes.max() + 1), len(f) // 2))
    mixture = GaussianMixture(n_components=count, random_state=seed).fit(reduced)
    return leep(mixture.predict_proba(reduced), codes)


def _folds(codes: np.ndarray, requested: int) -> int:
    folds = int(min(requested, np.bincount(codes).min()))
    if folds < 2:
        raise DataError("Cross-validated scores need at least 2 examples of every class; add labelled examples.")
    return folds


@single_threaded
def knn_accuracy(
    features: np.ndarray, labels: np.ndarray | list, *, neighbors: int = 5, folds: int = 5, seed: int = 0
) -> float:
    """Cross-validated k-nearest-neighbour accuracy (cosine distance) of the embeddings.

    The k-NN probe of representation-learning evaluations (e.g. Wu et al., "Unsupervised Feature
    Learning via Non-Parametric Instance Discrimination", CVPR 2018; Caron et al., DINO, ICCV 2021):
    stratified k-fold, neighbours voted by cosine similarity of the frozen embeddings.

    Example:
        >>> f = np.array([[1.0, 0.0]] * 6 + [[0.0, 1.0]] * 6)
        >>> knn_accuracy(f, [0] * 6 + [1] * 6, neighbors=3, folds=3)
        1.0
    """
    codes = encode_labels(labels)
    f = _check_rows(features, codes, "Features")
    k = _folds(codes, folds)
    smallest_train = len(codes) - int(np.ceil(len(codes) / k))
    model = KNeighborsClassifier(n_neighbors=min(neighbors, smallest_train), metric="cosine")
    splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
    return float(cross_val_score(model, f, codes, cv=splitter).mean())


@single_threaded
def linear_probe_accuracy(
    features: np.ndarray, labels: np.ndarray | list, *, folds: int = 5, seed: int = 0, c: float = 1.0
) -> float:
    """Cross-validated accuracy of an L2-regularised logistic regression on standardised embeddings.

    The linear-evaluation protocol of transfer studies (Kornblith, Shlens and Le, "Do Better ImageNet
    Models Transfer Better?", CVPR 2019): a linear classifier on frozen features, scored by
    stratified k-fold cross-validation.

    Example:
        >>> f = np.array([[1.0, 0.0]] * 6 + [[0.0, 1.0]] * 6)
        >>> linear_probe_accuracy(f, [0] * 6 + [1] * 6, folds=3)
        1.0
    """
    codes = encode_labels(labels)
    f = _check_rows(features, codes, "Features")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    splitter = StratifiedKFold(_folds(codes, folds), shuffle=True, random_state=seed)
    return float(cross_val_score(model, f, codes, cv=splitter).mean())


@dataclass(frozen=True)
class ScoreInfo:
    """A registered score: what it reads (embeddings or source probabilities) and how to compute it."""

    name: str
    needs: str  # "features" or "source"
    compute: Callable[..., float]
    description: str


SCORES: dict[str, ScoreInfo] = {
    "logme": ScoreInfo("logme", "features", logme, "LogME evidence per sample (You et al. 2021)"),
    "leep": ScoreInfo("leep", "source", leep, "LEEP, needs a source classifier (Nguyen et al. 2020)"),
    "nce": ScoreInfo("nce", "source", nce, "negative conditional entropy, needs a source head (Tran et al. 2019)"),
    "h_score": ScoreInfo(
        "h_score", "features", h_score, "regularised, debiased H-score (Bao et al. 2019; Ibrahim et al. 2022)"
    ),
    "gbc": ScoreInfo("gbc", "features", gbc, "Gaussian Bhattacharyya class separability (Pandy et al. 2022)"),
    "nleep": ScoreInfo("nleep", "features", nleep, "LEEP over a Gaussian mixture of the features (Li et al. 2021)"),
    "knn": ScoreInfo("knn", "features", knn_accuracy, "5-NN cosine cross-validated accuracy"),
    "linear": ScoreInfo("linear", "features", linear_probe_accuracy, "logistic-regression cross-validated accuracy"),
}
