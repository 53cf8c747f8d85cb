"""Ways tried to rank the flipped fine-food reviews better with frozen models, beside the adopted audit (the mean of
the MiniLM probe's, TF-IDF words' and TF-IDF characters' out-of-fold probabilities): the same flips and 5 folds as
label_audit.py; each writes its precision at recall 0.5 into results/label_audit.json under "tried".

- cleanlab's class-threshold adjustment of the probabilities (get_label_quality_scores(adjust_pred_probs=True));
- a naive-Bayes-weighted logistic regression on binary word n-grams (NB-LR, Wang & Manning 2012) as a fourth model;
- a second pass (co-teaching style): drop the 10% or 20% most suspect rows from every training fold, refit the three
  models, score every row again.

Run:  nice -n 15 .venv/bin/python benchmarks/label_audit_trials.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from label_audit import SEED, flipped, precision_at_recall
from labelling_data import embeddings, fine_food
from transferkit.labelling.active import probe
from transferkit.labelling.audit import TFIDF_C, out_of_fold_probas

RESULTS = Path(__file__).resolve().parent / "results" / "label_audit.json"


def text_models() -> dict[str, object]:
    return {
        "TF-IDF words": make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
            LogisticRegression(C=TFIDF_C, max_iter=3000),
        ),
        "TF-IDF characters": make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True, max_features=100_000),
            LogisticRegression(C=TFIDF_C, max_iter=3000),
        ),
    }


def nb_lr(texts: np.ndarray, labels: np.ndarray, splitter, C: float = 0.1) -> np.ndarray:
    """Out-of-fold NB-LR: binary word 1-2-grams scaled by the naive-Bayes log-count ratio, then logistic regression."""
    proba = np.zeros((len(labels), 2))
    for fit, held in splitter.split(texts, labels):
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, binary=True, use_idf=False, norm=None)
        counts = vectorizer.fit_transform(texts[fit])
        p = np.asarray(counts[labels[fit] == 1].sum(0)).ravel() + 1
        q = np.asarray(counts[labels[fit] == 0].sum(0)).ravel() + 1
        ratio = np.log((p / p.sum()) / (q / q.sum()))
        model = LogisticRegression(C=C, max_iter=3000).fit(counts.multiply(ratio).tocsr(), labels[fit])
        proba[held] = model.predict_proba(vectorizer.transform(texts[held]).multiply(ratio).tocsr())
    return proba


def second_pass(features, texts, labels, splitter, suspect: np.ndarray) -> dict[str, np.ndarray]:
    """The three models refitted in each fold without the `suspect` rows; every row scored again."""
    keep = np.ones(len(labels), bool)
    keep[suspect] = False
    out = {name: np.zeros((len(labels), 2)) for name in ("embedding probe", *text_models())}
    for fit, held in splitter.split(features, labels):
        fit = fit[keep[fit]]
        out["embedding probe"][held] = probe(features[fit], labels[fit], seed=SEED).predict_proba(features[held])
        for name, model in text_models().items():
            out[name][held] = model.fit(texts[fit], labels[fit]).predict_proba(texts[held])
    return out


def main() -> None:
    from cleanlab.rank import get_label_quality_scores

    inputs, labels, is_test, names = fine_food()
    train = np.flatnonzero(~is_test)
    noisy, flips = flipped(labels[train], len(names), np.random.default_rng(SEED))
    is_flipped = np.zeros(len(train), bool)
    is_flipped[flips] = True
    features = embeddings("bundled:minilm", inputs)[train]
    texts = np.asarray([inputs[i] for i in train], dtype=object)
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    base = out_of_fold_probas(features, noisy, seed=SEED, texts=list(texts))
    mean = np.mean(list(base.values()), axis=0)

    def scored(proba: np.ndarray, **options) -> float:
        return round(precision_at_recall(get_label_quality_scores(noisy, proba, **options), is_flipped, 0.5), 4)

    tried = {"adopted mean of three (reference)": scored(mean)}
    tried["the same, cleanlab adjust_pred_probs=True"] = scored(mean, adjust_pred_probs=True)
    nb = nb_lr(texts, noisy, splitter)
    tried["NB-LR alone"] = scored(nb)
    tried["mean of the three + NB-LR"] = scored(np.mean([*base.values(), nb], axis=0))
    quality = get_label_quality_scores(noisy, mean)
    for share in (0.1, 0.2):
        again = second_pass(features, texts, noisy, splitter, np.argsort(quality)[: int(share * len(quality))])
        for name, proba in again.items():
            tried[f"second pass without the {share:.0%} most suspect: {name}"] = scored(proba)
        tried[f"second pass without the {share:.0%} most suspect: mean of three"] = scored(
            np.mean(list(again.values()), 0)
        )
    print(json.dumps(tried, indent=2), flush=True)
    record = json.loads(RESULTS.read_text())
    record["tried"] = {"fine-food, precision at recall 0.5": tried, "load_average": os.getloadavg()}
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
