"""Zero-shot accuracy on the fine-food reviews from label descriptions alone, against the majority rate.

All 5,000 reviews (great 65%, other 35%; "other" holds every review below five stars, so mixed four-star praise
is "other"), embedded once with the bundled MiniLM. Three wordings of the two classes, each scored by plain
cosine similarity to the description, by similarity after removing the pool's mean embedding ("centred"), and by
SetFit's templated synthetic examples with a logistic regression on their embeddings ("synthetic", without
SetFit's contrastive fine-tuning). For the hand-over to labels, the same probe on random labelled reviews is
scored on the package's 1,000 test reviews (3 seeds) to say how many labels beat the best zero-shot.

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/zero_shot.py   (writes results/zero_shot.json)
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np

from labelling_data import embeddings, fine_food
from transferkit.labelling.active import probe
from transferkit.labelling.zero_shot import METHODS, parse_label_descriptions, synthetic_examples, zero_shot_proba

RESULTS = Path(__file__).resolve().parent / "results"
SPEC = "bundled:minilm"
WORDINGS = {
    "names": "great, other",
    "short": "great: a great product, other: a bad product",
    "review": "great: a review praising the product, other: a complaint or a mixed review about the product",
    "phrases": "great: five stars, I love it, delicious, highly recommend, other: disappointing, bad taste, not "
    "worth the money, mediocre",
}
LABEL_COUNTS = (4, 8, 16, 32, 64)


def main() -> None:
    texts, labels, is_test, names = fine_food()
    features = embeddings(SPEC, texts)
    record = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "backbone": SPEC}
    record["rows"] = len(texts)
    record["majority_rate"] = round(float(np.bincount(labels).max() / len(labels)), 4)
    record["test_majority_rate"] = round(float(np.bincount(labels[is_test]).max() / is_test.sum()), 4)
    record["wordings"] = WORDINGS
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for key, text in WORDINGS.items():
        descriptions = parse_label_descriptions(text)
        order = [names.index(name) for name in descriptions]  # description order -> class index
        truth = np.array([order.index(label) for label in labels])
        scores[key] = {}
        for method in METHODS:
            if method == "synthetic":
                sentences, targets = synthetic_examples(descriptions)
                proba = zero_shot_proba(features, embeddings(SPEC, sentences), method=method, synthetic_targets=targets)
            else:
                proba = zero_shot_proba(features, embeddings(SPEC, list(descriptions.values())), method=method)
            predicted = proba.argmax(axis=1)
            scores[key][method] = {
                "accuracy": round(float((predicted == truth).mean()), 4),
                "test_accuracy": round(float((predicted[is_test] == truth[is_test]).mean()), 4),
            }
        print(key, scores[key], flush=True)
    record["zero_shot"] = scores
    record["few_shot"] = few_shot(features, labels, is_test)
    record["load_average"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "zero_shot.json").write_text(json.dumps(record, indent=2) + "\n")


def few_shot(features: np.ndarray, labels: np.ndarray, is_test: np.ndarray) -> dict[str, float]:
    """The probe's test accuracy on k random labelled reviews per class (3 seeds): the labels' hand-over point."""
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    results = {}
    for count in LABEL_COUNTS:
        accuracies = []
        for seed in range(3):
            rng = np.random.default_rng(seed)
            rows = np.concatenate([rng.choice(train[labels[train] == k], count, replace=False) for k in (0, 1)])
            model = probe(features[rows], labels[rows], seed=seed)
            accuracies.append(float((model.predict(features[test]) == labels[test]).mean()))
        results[str(count)] = round(float(np.mean(accuracies)), 4)
    return results


if __name__ == "__main__":
    main()
