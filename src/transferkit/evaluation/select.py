"""Cross-validated choice among the probe, the classic baseline and both feature sets concatenated.

Transfer is not always a win: when labels follow surface cues (a hashtag, a URL, a style marker),
TF-IDF beats a frozen sentence encoder. `choose_by_cv` scores three candidates with the same
stratified folds of the training split and says which one wins and by how much:

- probe: standardised backbone embeddings + logistic regression;
- classic: TF-IDF (text) or pixels (images) + logistic regression (`ClassicBaseline`);
- concat: the standardised embeddings next to the classic features, + logistic regression.

Example:
    >>> choice = choose_by_cv(train, embeddings, seed=0)  # doctest: +SKIP
    >>> choice["chosen"], choice["margin"]  # doctest: +SKIP
    ('probe', 0.04)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from transferkit.data.dataset import LabeledData
from transferkit.evaluation.baselines import ClassicBaseline, _folds, _pixels

CANDIDATES = ("probe", "classic", "concat")
EMBEDDING_C = 0.1


def _probe_matrix(embeddings: np.ndarray, train: list[int], test: list[int]) -> tuple[np.ndarray, np.ndarray]:
    scaler = StandardScaler().fit(embeddings[train])
    return scaler.transform(embeddings[train]), scaler.transform(embeddings[test])


def _concat_matrix(
    data: LabeledData, embeddings: np.ndarray, train: list[int], test: list[int]
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """[embeddings scaled to unit-norm rows on average, TF-IDF or standardised pixels] for train and test rows."""
    dense_train, dense_test = _probe_matrix(embeddings, train, test)
    scale = 1.0 / np.sqrt(embeddings.shape[1])  # embeddings' rows ~ unit norm, like TF-IDF rows
    if data.modality == "text":
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        classic_train = vectorizer.fit_transform([data.inputs[i] for i in train])
        classic_test = vectorizer.transform([data.inputs[i] for i in test])
    else:
        pixels = _pixels(data.inputs)
        scaler = StandardScaler().fit(pixels[train])
        classic_train = sp.csr_matrix(scaler.transform(pixels[train]) / np.sqrt(pixels.shape[1]))
        classic_test = sp.csr_matrix(scaler.transform(pixels[test]) / np.sqrt(pixels.shape[1]))
    return (
        sp.hstack([sp.csr_matrix(dense_train * scale), classic_train]).tocsr(),
        sp.hstack([sp.csr_matrix(dense_test * scale), classic_test]).tocsr(),
    )


def choose_by_cv(data: LabeledData, embeddings: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
    """Accuracy of each candidate over stratified folds of `data` (rows aligned with `embeddings`).

    Returns ``{"chosen", "margin" (best minus runner-up mean accuracy), "folds", "scores": {name: {"mean", "std",
    "folds"}}}``; ties go to the earlier candidate in probe, classic, concat order.
    """
    labels = np.array(data.labels or [])
    folds = _folds(list(labels), seed)
    scores: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    for train, test in folds.split(np.zeros(len(labels)), labels):
        train_rows, test_rows = list(train), list(test)
        x_train, x_test = _probe_matrix(embeddings, train_rows, test_rows)
        probe = LogisticRegression(C=EMBEDDING_C, max_iter=2000).fit(x_train, labels[train])
        scores["probe"].append(float((probe.predict(x_test) == labels[test]).mean()))
        classic = ClassicBaseline(modality=data.modality, seed=seed).fit(
            [data.inputs[i] for i in train_rows], list(labels[train])
        )
        proba = classic.predict_proba([data.inputs[i] for i in test_rows])
        predicted = np.array(classic.classes_)[proba.argmax(1)]
        scores["classic"].append(float((predicted == labels[test]).mean()))
        c_train, c_test = _concat_matrix(data, embeddings, train_rows, test_rows)
        concat = LogisticRegression(C=10.0, max_iter=2000).fit(c_train, labels[train])
        scores["concat"].append(float((concat.predict(c_test) == labels[test]).mean()))
    means = {name: float(np.mean(values)) for name, values in scores.items()}
    ranked = sorted(CANDIDATES, key=lambda name: -means[name])  # stable: ties keep the candidate order
    return {
        "chosen": ranked[0],
        "margin": means[ranked[0]] - means[ranked[1]],
        "folds": folds.get_n_splits(),
        "scores": {
            name: {"mean": means[name], "std": float(np.std(values)), "folds": values}
            for name, values in scores.items()
        },
    }


def choose_for_run(*, spec: Any, train: LabeledData) -> dict[str, Any]:
    """`choose_by_cv` on a run's training split, with the run's pretrained backbone (embeddings from the cache)."""
    from transferkit.backbones import create_backbone
    from transferkit.features import extract_features

    backbone = create_backbone(spec.backbone.spec, max_length=spec.backbone.max_length)  # pretrained, not fine-tuned
    embeddings, _ = extract_features(
        backbone,
        train.inputs,
        cache_dir=spec.backbone.cache_dir,
        batch_size=spec.backbone.batch_size,
        description="Embedding training data",
    )
    return choose_by_cv(train, embeddings, seed=spec.run.seed)
